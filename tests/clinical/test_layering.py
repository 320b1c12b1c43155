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


# The appointment book's rules are pure too (decision 0116): the booking action and the series
# proposal judge a slot with the same functions, tested without settings or a database.
RULES = CLINICAL.parent / "scheduling" / "rules"


def absolute_imports(path: Path, package: str) -> set[str]:
    """Every module a file of ``package`` imports, relative imports resolved."""
    modules = imported_modules(path)
    parts = package.split(".")
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(parts[: len(parts) - node.level + 1])
            modules.add(f"{base}.{node.module}" if node.module else base)
    return modules


def outside_the_rules(module: str) -> bool:
    inside = module.startswith(("ketacare.clinical", "ketacare.scheduling.rules"))
    return module.split(".")[0] in {"django", "ketacare"} and not inside


def test_the_rules_check_sees_an_import_of_the_app_above_them():
    assert outside_the_rules("ketacare.scheduling.models")
    assert outside_the_rules("ketacare.scheduling")
    assert outside_the_rules("django.utils.timezone")
    assert not outside_the_rules("ketacare.clinical.protocols.library")
    assert not outside_the_rules("ketacare.scheduling.rules.inputs")
    assert not outside_the_rules("zoneinfo")


def test_a_relative_import_is_resolved_before_it_is_judged(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("from .. import models\nfrom .inputs import Booking\n", "utf-8")
    modules = absolute_imports(source, "ketacare.scheduling.rules")
    assert modules == {"ketacare.scheduling", "ketacare.scheduling.rules.inputs"}
    assert outside_the_rules("ketacare.scheduling")


def test_the_booking_rules_import_neither_django_nor_an_app():
    files = sorted(RULES.rglob("*.py"))
    assert len(files) >= 4
    found = [
        f"{path.relative_to(CLINICAL.parent)}: {module}"
        for path in files
        for module in sorted(absolute_imports(path, "ketacare.scheduling.rules"))
        if outside_the_rules(module)
    ]
    assert not found, "; ".join(found)
