"""Import rules read from the source alone (no import is run): no app uses another app's
private names, and audit, the lower layer, never imports accounts (docs/decisions/0114)."""

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((SOURCE / "ketacare").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield ".".join(path.relative_to(SOURCE).with_suffix("").parts), ast.parse(path.read_text())


def app_of(module: str) -> str:
    """ketacare.<app>.… -> <app>; a top-level module (ketacare.actor) is its own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the imports under ``if TYPE_CHECKING:``: types for the checker, not edges."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def imports(tree: ast.Module) -> Iterator[tuple[str, list[str]]]:
    """(imported module, names) for every run-time import of ketacare, at any depth."""
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "ketacare":
                yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ketacare":
                    yield alias.name, []


def private_imports(modules: list[tuple[str, ast.Module]]) -> list[str]:
    found = []
    for module, tree in modules:
        for imported, names in imports(tree):
            if app_of(imported) == app_of(module):
                continue
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    found.append(f"{module} imports {name} from {imported}")
            if any(part.startswith("_") and part != "__init__" for part in imported.split(".")):
                found.append(f"{module} imports the private module {imported}")
    return found


def app_graph(modules: list[tuple[str, ast.Module]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, tree in modules:
        for imported, _ in imports(tree):
            if app_of(imported) != app_of(module):
                graph.setdefault(app_of(module), set()).add(app_of(imported))
    return graph


def test_no_app_imports_another_apps_private_names() -> None:
    assert private_imports(list(_modules())) == []


def test_audit_never_imports_accounts() -> None:
    graph = app_graph(list(_modules()))
    assert "audit" in graph.get("accounts", set()), "accounts records into the audit trail"
    assert "accounts" not in graph.get("audit", set())
    # Nor by a detour through another app.
    reached, todo = set(), ["audit"]
    while todo:
        for app in graph.get(todo.pop(), set()) - reached:
            reached.add(app)
            todo.append(app)
    assert "accounts" not in reached, sorted(reached)


def test_the_rules_catch_what_they_forbid() -> None:
    # Each rule fails on a module that breaks it, so a passing run means something.
    bad = [
        ("ketacare.registry.x", ast.parse("from ketacare.measures.fhir import _code")),
        ("ketacare.audit.x", ast.parse("from ketacare.accounts.access import requires")),
        ("ketacare.audit.y", ast.parse("if TYPE_CHECKING:\n    from ketacare.patients import m")),
    ]
    assert private_imports(bad) == ["ketacare.registry.x imports _code from ketacare.measures.fhir"]
    assert app_graph(bad) == {"registry": {"measures"}, "audit": {"accounts"}}
