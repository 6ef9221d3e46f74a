"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): the flavors of the OpenAI
adapter's HTTP clients and the httpx2 auth adapter."""

from __future__ import annotations

import httpx
import httpx2
from typing_extensions import assert_type

import odsc_llm
from odsc_llm.integrations.openai import async_http_client, http_client


def flavors(auth: httpx.Auth) -> None:
    dep = "https://h.example/ocid1.datasciencemodeldeployment.oc1.iad.x"
    assert_type(http_client(dep, auth, flavor="httpx"), httpx.Client)
    assert_type(http_client(dep, auth, flavor="httpx2"), httpx2.Client)
    assert_type(http_client(dep, auth), httpx.Client | httpx2.Client)
    assert_type(async_http_client(dep, auth, flavor="httpx"), httpx.AsyncClient)
    assert_type(async_http_client(dep, auth, flavor="httpx2", routing="path"), httpx2.AsyncClient)
    assert_type(async_http_client(dep, auth), httpx.AsyncClient | httpx2.AsyncClient)
    assert_type(odsc_llm.auth.for_httpx2(auth), httpx2.Auth)
    odsc_llm.openai_client(dep, auth, http_client=http_client(dep, auth))
    http = async_http_client(dep, auth, routing="path")
    odsc_llm.async_openai_client(dep, auth, routing="path", http_client=http)
