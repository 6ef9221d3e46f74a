"""No import circle anywhere in the package, at load time or inside functions.

The graph counts every ``import`` of a package module, at module level and inside
functions (a function-local import hides a circle, it does not remove it); only imports
under ``if TYPE_CHECKING:`` are left out, since they never run. A function-local import
is for deferring a heavy or optional dependency (``oci``, ``opentelemetry``, ``openai``,
frameworks), never for dodging a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "odsc_llm"


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The package modules an import statement loads (the deepest that exists)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        names = [f"{target}.{alias.name}" for alias in node.names] or [target]
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, (path, is_package) in MODULES.items():
        tree = ast.parse(path.read_text("utf-8"))
        type_checking = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in type_checking:
                edges[module].update(_targets(module, is_package, node))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_finder_sees_a_circle_through_a_function_local_import() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_package() -> None:
    circles = _cycles(_graph())
    assert not circles, "import circles (module-level or inside functions):\n" + "\n".join(
        " <-> ".join(c) for c in circles
    )


def test_types_are_pure() -> None:
    """A module under ``types/`` imports only other types (and the package's exceptions,
    which it raises): never feature code, resources or clients."""
    edges = _graph()
    allowed = {"odsc_llm._errors", "odsc_llm._error_text"}
    for module, targets in edges.items():
        if module.startswith("odsc_llm.types"):
            outside = {t for t in targets if not t.startswith("odsc_llm.types")} - allowed
            assert not outside, f"{module} imports {sorted(outside)}"


#: Private modules the emulator may import, and why: none holds client logic that the
#: emulator checks (so the two cannot be wrong together through them).
EMULATOR_MAY_IMPORT = {
    "odsc_llm._lazy": "the package's lazy loader (PEP 562), shared machinery, no client logic",
}


def test_the_emulator_uses_only_the_clients_public_names() -> None:
    """``odsc_llm.testing`` checks the client: it imports only the client's public modules
    (and its own), so a mistake in shared private code cannot hide from it."""
    for module, targets in _graph().items():
        if not module.startswith("odsc_llm.testing"):
            continue
        for target in targets:
            if target.startswith("odsc_llm.testing") or target in EMULATOR_MAY_IMPORT:
                continue
            private = any(part.startswith("_") for part in target.split(".")[1:])
            assert not private, f"{module} imports the client's private {target}"
