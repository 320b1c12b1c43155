"""``clinical/`` is the bottom layer (docs/architecture.md): pure Python that imports neither
Django nor any other part of ketacare, so that its rules run and are tested without settings
or a database (``ketacare score``, ``eligibility`` and ``pk`` run it that way)."""

import ast
from pathlib import Path

CLINICAL = Path(__file__).resolve().parents[2] / "src" / "ketacare" / "clinical"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def outside_the_layer(module: str) -> bool:
    top = module.split(".")[0]
    if top == "django":
        return True
    return top == "ketacare" and not module.startswith("ketacare.clinical")


def test_the_check_sees_an_import_from_above():
    assert outside_the_layer("django.db")
    assert outside_the_layer("ketacare.treatments.models")
    assert not outside_the_layer("ketacare.clinical.datafiles")
    assert not outside_the_layer("numpy")


def test_clinical_imports_neither_django_nor_the_apps():
    files = sorted(CLINICAL.rglob("*.py"))
    assert len(files) > 20
    found = [
        f"{path.relative_to(CLINICAL.parent)}: {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if outside_the_layer(module)
    ]
    assert not found, "; ".join(found)
