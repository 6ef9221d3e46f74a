"""`import odsc_llm` (and odsc_llm.auth) must stay light: no oci until credentials load."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_import_oci() -> None:
    code = (
        "import sys, odsc_llm, odsc_llm.auth\n"
        "assert odsc_llm.auth.OCIAuth is not None\n"
        "print('oci' in sys.modules, any(m.startswith('oci.') for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"], result.stdout + result.stderr


def test_bare_import_loads_neither_httpx_nor_pydantic() -> None:
    """The pytest plugin entry point imports the package in every pytest run of a project
    that has odsc_llm installed: the bare import must cost next to nothing."""
    code = (
        "import sys, odsc_llm\n"
        "heavy = [m for m in ('httpx', 'pydantic', 'oci', 'uvicorn') if m in sys.modules]\n"
        "print(heavy)\n"
        "odsc_llm.Client, odsc_llm.Deployment, odsc_llm.NotFoundError\n"
        "print('httpx' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"], result.stdout + result.stderr


def test_errors_testing_and_dir_stay_light() -> None:
    """The error classes, ``dir()`` and the testing package's names list load nothing heavy
    (the lazy loader imports a module only when one of its names is used)."""
    code = (
        "import sys, odsc_llm, odsc_llm.errors, odsc_llm.testing\n"
        "dir(odsc_llm), dir(odsc_llm.testing), odsc_llm.__all__, odsc_llm.testing.__all__\n"
        "odsc_llm.InvalidRequestError, odsc_llm.RateLimitError, odsc_llm.errors.StreamError\n"
        "heavy = [m for m in ('httpx', 'pydantic', 'oci', 'uvicorn') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split("\n")[0] == "[]", result.stdout + result.stderr


def test_aiohttp_is_imported_only_by_the_transport_that_uses_it() -> None:
    """``transport="aiohttp"`` is optional: the default client, and naming the helper,
    load nothing of it; building the transport does."""
    code = (
        "import sys, httpx, odsc_llm\n"
        "odsc_llm.AsyncClient('http://127.0.0.1:9/ocid1.datasciencemodeldeployment.oc1.iad.x',"
        " auth=httpx.Auth())\n"
        "odsc_llm.aiohttp_client\n"
        "print('aiohttp' in sys.modules)\n"
        "odsc_llm.aiohttp_client()\n"
        "print('aiohttp' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"], result.stdout + result.stderr
