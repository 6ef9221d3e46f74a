"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): ``transport`` is typed."""

from __future__ import annotations

import httpx

import odsc_llm
from odsc_llm.types.params import Transport


def transport_surface(dep: odsc_llm.Deployment, chosen: Transport) -> None:
    odsc_llm.AsyncClient(dep, transport="aiohttp")
    odsc_llm.AsyncClient(dep, transport="httpx")
    odsc_llm.AsyncClient(dep, transport=chosen)
    odsc_llm.AsyncClient(dep, transport="requests")  # type: ignore[arg-type]
    odsc_llm.Client(dep, transport="aiohttp")  # type: ignore[call-arg]  # async only
    http: httpx.AsyncClient = odsc_llm.aiohttp_client(limits=httpx.Limits(max_connections=8))
    odsc_llm.AsyncClient(dep, http_client=http, transport="aiohttp")
