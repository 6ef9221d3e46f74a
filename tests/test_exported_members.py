"""The public surface is one list, and it is true (after httpx's test of the same name).

For ``odsc_llm`` and ``odsc_llm.testing``: every name in ``__all__`` resolves, ``dir()``
agrees with ``__all__``, nothing private is exported, and the ``TYPE_CHECKING`` imports
that type checkers see name exactly the lazily loaded names, from the same modules.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import odsc_llm
import odsc_llm.errors
import odsc_llm.testing
from odsc_llm import _errors

PACKAGES = [odsc_llm, odsc_llm.testing]
ALLOWED_DUNDERS = {"__version__"}


def _type_checking_imports(package: ModuleType) -> dict[str, str]:
    """{name: relative module} of the ``if TYPE_CHECKING:`` imports of a package."""
    tree = ast.parse(Path(inspect.getfile(package)).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.If) or isinstance(node.test, ast.UnaryOp):
            continue  # only `if TYPE_CHECKING:`, not `if not TYPE_CHECKING:`
        if not ast.unparse(node.test).endswith("TYPE_CHECKING"):
            continue
        for stmt in node.body:
            assert isinstance(stmt, ast.ImportFrom), ast.unparse(stmt)
            module = "." * stmt.level + (stmt.module or "")
            for alias in stmt.names:
                # `X as X`: the explicit re-export form type checkers honour
                assert alias.asname == alias.name, ast.unparse(stmt)
                names[alias.name] = module
    return names


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_type_checking_imports_agree_with_the_lazy_list(package: ModuleType) -> None:
    lazy: dict[str, str] = package._LAZY
    submodules = set(getattr(package, "_SUBMODULES", ()))
    seen = _type_checking_imports(package)
    assert {n: m for n, m in seen.items() if m != "."} == lazy
    assert {n for n, m in seen.items() if m == "."} == submodules


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted_unique_and_public(package: ModuleType) -> None:
    names = package.__all__
    assert names == sorted(set(names))
    private = [n for n in names if n.startswith("_") and n not in ALLOWED_DUNDERS]
    assert private == []


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_exported_name_resolves_to_its_modules_object(package: ModuleType) -> None:
    for name in package.__all__:
        value = getattr(package, name)
        module = getattr(package, "_LAZY", {}).get(name)
        if module is not None:
            assert value is getattr(importlib.import_module(module, package.__name__), name)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_dir_agrees_with_all(package: ModuleType) -> None:
    public = {n for n in dir(package) if not n.startswith("_")}
    # Importing a submodule binds it on its package (e.g. odsc_llm.resources): those are
    # modules, not exports; any other public name must be exported.
    extra = {n for n in public - set(package.__all__) if not inspect.ismodule(getattr(package, n))}
    assert extra == set()
    assert set(package.__all__) - ALLOWED_DUNDERS <= public


def test_a_fresh_import_exposes_exactly_all() -> None:
    code = (
        "import odsc_llm, odsc_llm.testing\n"
        "for p in (odsc_llm, odsc_llm.testing):\n"
        "    public = sorted(n for n in dir(p) if not n.startswith('_'))\n"
        "    assert public == sorted(set(p.__all__) - {'__version__'}), (p, public)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize("name", ["NoSuchThing", "_LAZYX", "make_status_error"])
def test_unknown_names_raise_attribute_error(name: str) -> None:
    with pytest.raises(AttributeError, match=name):
        getattr(odsc_llm, name)


def test_new_and_control_plane_names_are_exported() -> None:
    for name in [
        "ControlPlaneError",
        "DeploymentWaitTimeout",
        "openai_client",
        "async_openai_client",
        "BatchResult",
        "DeploymentInfo",
        "list_deployments",
        "StreamTimeoutError",
        "InvalidRequestError",
        "ClientClosedError",
    ]:
        assert name in odsc_llm.__all__


def test_errors_exports_every_error_class_and_no_helper() -> None:
    classes = {
        name
        for name, value in vars(_errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ in {_errors.__name__, "odsc_llm"}  # public ones say odsc_llm
        and not name.startswith("_")
    }
    assert set(odsc_llm.errors.__all__) == classes
    assert set(odsc_llm.errors.__all__) <= set(odsc_llm.__all__)
    for helper in ("make_status_error", "extract_error_message"):
        assert helper not in odsc_llm.errors.__all__
        assert helper not in odsc_llm.__all__
    for name in odsc_llm.errors.__all__:
        assert getattr(odsc_llm.errors, name) is getattr(odsc_llm, name)


def test_control_plane_names_stay_importable_from_control_plane() -> None:
    from odsc_llm import control_plane

    assert control_plane.ControlPlaneError is odsc_llm.ControlPlaneError
    assert control_plane.DeploymentWaitTimeout is odsc_llm.DeploymentWaitTimeout
    assert control_plane.DeploymentInfo is odsc_llm.DeploymentInfo
