"""Every Python block of the README, CONTRIBUTING.md and docs/ runs against the emulator.

A page's blocks run in order in one namespace, as a reader would paste them into one
session. The namespace starts with what the prose assumes a reader has (``url``,
``dep``, ``auth``, ``client``, ``messages``...) pointing at a ``LocalDeployment``; the
documented placeholders (the example deployment URL and OCIDs) are replaced by the
emulator's. A block that cannot run here says why in an HTML comment on the line before
it, ``<!-- docs: no-run REASON -->``; there are only a few (counted below), each with a
reason. Fences must balance, and only known languages are used (a stray fence renders the
rest of a page as code).
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from odsc_llm.testing import LocalDeployment

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda p: str(p),
)
FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")
NO_RUN = re.compile(r"^<!-- docs: no-run (?P<reason>.+?) -->$")
LANGUAGES = {"python", "bash", "text", "toml", "json", "console", "java", "javascript", ""}
#: The most blocks all pages together may exempt (each with its reason).
MAX_NO_RUN = 8

EXAMPLE_URL = (
    "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/"
    "ocid1.datasciencemodeldeployment.oc1.iad.xxx"
)
EXAMPLE_OCID = "ocid1.datasciencemodeldeployment.oc1.iad.xxx"
EXAMPLE_COMPARTMENT = "ocid1.compartment.oc1..xxx"


@dataclasses.dataclass
class Block:
    page: Path
    line: int
    language: str
    code: str
    no_run: str | None

    def __repr__(self) -> str:
        where = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{where}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page; raises AssertionError on an unbalanced fence."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").split("\n")
    open_at: tuple[int, str, str] | None = None  # (line, fence, language)
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if open_at is None:
            if m:
                language = m.group(3).strip().split(" ")[0]
                open_at, body = (number, m.group(2), language), []
            continue
        if m and m.group(2).startswith(open_at[1]) and not m.group(3).strip():
            start, _, language = open_at
            previous = next((x for x in reversed(lines[: start - 1]) if x.strip()), "")
            reason = NO_RUN.match(previous.strip())
            code = "\n".join(body)
            indent = len(lines[start - 1]) - len(lines[start - 1].lstrip())
            if indent:  # a block inside a list item
                code = "\n".join(x[indent:] for x in body)
            found.append(
                Block(page, start, language, code, reason.group("reason") if reason else None)
            )
            open_at = None
            continue
        body.append(line)
    assert open_at is None, f"{page.name}:{open_at[0]}: a fence is never closed"
    return found


def test_fences_balance_and_name_known_languages() -> None:
    exempt = []
    for page in PAGES:
        for block in blocks(page):
            assert block.language in LANGUAGES, f"{block}: fence language {block.language!r}"
            if block.no_run:
                exempt.append(block)
    assert len(exempt) <= MAX_NO_RUN, exempt


def test_a_stray_fence_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\nmore\n\n```markdown\nrest\n", "utf-8")
    with pytest.raises(AssertionError, match="never closed"):
        blocks(page)


def _substitute(code: str, local: LocalDeployment) -> str:
    code = code.replace(EXAMPLE_URL, local.url)
    code = re.sub(
        r'odsc_llm\.Deployment\.from_ocid\("' + re.escape(EXAMPLE_OCID) + r'"\)',
        f"odsc_llm.Deployment.from_url({local.url!r})",
        code,
    )
    code = code.replace(f'"{EXAMPLE_OCID}"', repr(local.url))
    code = code.replace(
        f'"{EXAMPLE_COMPARTMENT}", auth=auth, region="us-ashburn-1"',
        f"{local.compartment_id!r}, auth=auth, region='us-ashburn-1', "
        f"control_plane_endpoint={local.base_url!r}",
    )
    return code


def _run(code: str, namespace: dict[str, Any], where: str) -> None:
    compiled = compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if compiled.co_flags & 0x80:  # CO_COROUTINE: the block awaits at top level
        result = eval(compiled, namespace)
        asyncio.run(result)
    else:
        exec(compiled, namespace)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalDeployment, Path]]:
    # The pages show a single-model deployment ("odsc-llm") and a stacked one (a base
    # model and a LoRA adapter): this one serves all three names.
    served = {"odsc-llm": None, "llama-3-8b": None, "my-lora": "llama-3-8b"}
    with LocalDeployment(models=served) as local:
        config = local.write_oci_config(tmp_path_factory.mktemp("oci"))
        yield local, config


def _namespace(local: LocalDeployment, tmp: Path) -> dict[str, Any]:
    import odsc_llm

    module = types.ModuleType("__docs__")
    prompts = ["What is a GPU?", "What is a KV cache?"]
    (tmp / "cat.txt").write_text("a cat", "utf-8")
    module.__dict__.update(
        odsc_llm=odsc_llm,
        local=local,
        url=local.url,
        deployment=local.url,
        dep=local.deployment,
        auth=local.auth,
        client=local.client(),
        messages=[{"role": "user", "content": "What is OCI?"}],
        msgs=[{"role": "user", "content": "What is OCI?"}],
        prompts=prompts,
        qs=prompts,
        documents=["GPUs are processors.", "Cats sleep."],
        long_document="a long document " * 20,
    )
    return module.__dict__


def _runnable_pages() -> list[Path]:
    return [p for p in PAGES if any(b.language == "python" for b in blocks(p))]


@pytest.mark.parametrize("page", _runnable_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_runs(
    page: Path,
    emulator: tuple[LocalDeployment, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local, config = emulator
    local.reset()
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config))
    monkeypatch.setenv("OCI_CLI_PROFILE", "DEFAULT")
    monkeypatch.setenv("ODSC_LLM_DEPLOYMENT", local.url)
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_VERSION", raising=False)
    monkeypatch.chdir(tmp_path)
    namespace = _namespace(local, tmp_path)
    ran = 0
    for block in blocks(page):
        if block.language != "python" or block.no_run:
            continue
        code = _substitute(block.code, local)
        try:
            _run(code, namespace, str(block))
        except Exception as exc:  # the failing block, named, with its code
            raise AssertionError(f"{block} failed: {exc!r}\n---\n{code}") from exc
        ran += 1
    assert ran or all(b.no_run for b in blocks(page) if b.language == "python")


def _documented() -> set[str]:
    """The dotted names the API reference renders with ``::: name``."""
    names: set[str] = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        names |= set(re.findall(r"^::: ([\w.]+)$", page.read_text("utf-8"), re.M))
    return names


def test_every_public_name_is_in_the_api_reference() -> None:
    import odsc_llm
    import odsc_llm.testing

    documented = _documented()
    # A module rendered whole documents the names of its __all__ (griffe reads it).
    whole = {"odsc_llm.auth", "odsc_llm.errors", "odsc_llm.types", "odsc_llm.shapes"}
    whole |= {"odsc_llm.control_plane"}
    assert whole <= documented
    errors = set(odsc_llm.errors.__all__)
    missing = [
        name
        for name in odsc_llm.__all__
        if f"odsc_llm.{name}" not in documented
        and name not in errors
        and name not in {"__version__", "deployment", "integrations", "testing"}
        and not isinstance(getattr(odsc_llm, name), types.ModuleType)
    ]
    missing += [
        f"testing.{name}"
        for name in odsc_llm.testing.__all__
        if f"odsc_llm.testing.{name}" not in documented
    ]
    assert not missing, f"public names missing from docs/reference/: {missing}"
