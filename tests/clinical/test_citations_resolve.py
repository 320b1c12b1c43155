"""Every citation of the clinical reference resolves to a section of it.

The data files cite the reference by section ("clinical-reference §3", "§1–§3 and §7"); the app
links each citation to ``/reference/#section-N``. A citation of a section the reference does
not have would send a prescriber to nothing, so every one is checked here: in every string of
every data file (``src/ketacare/**/data/*.toml``) and comment line that names the reference,
and in the code's own docstrings. Label sections written with a point (the Spravato label's
§8.1) are not the reference's and are left alone.

The reference itself is one file: ``src/ketacare/clinical/reference.md`` (package data, which
the /reference/ page renders); ``docs/clinical-reference.md`` is a link to it.
"""

import re
import tomllib
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "ketacare"
REFERENCE = SRC / "clinical" / "reference.md"
DATA_FILES = sorted(SRC.rglob("data/*.toml"))

NAMES_THE_REFERENCE = "clinical-reference"
# §N or a range §N–§M (or §N-M); not §8.1, a label's own numbering.
_SECTION = re.compile(r"§(\d+)(?:\s*[–-]\s*§?(\d+))?(?![.\d])")
_HEADING = re.compile(r"^## (\d+)\. ", flags=re.MULTILINE)


def cited_sections(text: str) -> set[int]:
    """The reference sections a text that names the reference cites (none if it does not)."""
    if NAMES_THE_REFERENCE not in text:
        return set()
    cited: set[int] = set()
    for first, last in _SECTION.findall(text):
        cited.update(range(int(first), int(last or first) + 1))
    return cited


def reference_sections(markdown: str) -> set[int]:
    """The numbered sections (``## N. Title``) of the reference."""
    return {int(number) for number in _HEADING.findall(markdown)}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def citations(path: Path) -> Iterator[tuple[str, set[int]]]:
    """(where, sections) for each string value and comment line of a data file that cites the
    reference."""
    text = path.read_text("utf-8")
    for string in _strings(tomllib.loads(text)):
        if sections := cited_sections(string):
            yield string[:80], sections
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#") and (sections := cited_sections(line)):
            yield f"comment, line {number}", sections


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_parser_reads_single_sections_ranges_and_lists_but_not_label_sections():
    assert cited_sections("(clinical-reference §4)") == {4}
    assert cited_sections("clinical-reference §1–§3 and §7: …") == {1, 2, 3, 7}
    assert cited_sections("(clinical-reference §2, §7) [confirmed]") == {2, 7}
    assert cited_sections("Pregnancy (§8.1) … (clinical-reference §7)") == {7}
    assert cited_sections("a label's own §2 without the reference") == set()


def test_the_reference_has_numbered_sections():
    sections = reference_sections(REFERENCE.read_text("utf-8"))
    assert sections == set(range(1, max(sections) + 1)), "sections are numbered 1, 2, 3 …"


def test_a_missing_section_is_found():
    sections = reference_sections("## 1. One\n\n## 2. Two\n")
    assert cited_sections("(clinical-reference §3)") - sections == {3}


def test_the_data_files_cite_the_reference():
    # The walk below must see the citations it checks: a parser that found none would pass.
    found = sum(len(list(citations(path))) for path in DATA_FILES)
    assert len(DATA_FILES) >= 30
    assert found >= 80


@pytest.mark.parametrize("path", DATA_FILES, ids=_relative)
def test_every_citation_in_a_data_file_names_a_section_of_the_reference(path):
    sections = reference_sections(REFERENCE.read_text("utf-8"))
    missing = [
        f"{where!r} cites §{sorted(cited - sections)}"
        for where, cited in citations(path)
        if cited - sections
    ]
    assert not missing, f"{_relative(path)}: " + "; ".join(missing)


def test_every_citation_in_the_code_names_a_section_of_the_reference():
    sections = reference_sections(REFERENCE.read_text("utf-8"))
    missing = [
        f"{_relative(path)} line {number}: §{sorted(cited - sections)}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if (cited := cited_sections(line)) - sections
    ]
    assert not missing, "; ".join(missing)


def test_nothing_points_to_a_reference_outside_the_repository():
    outside = "../" + "shared"  # spelt in two parts so that this file does not match itself
    texts = [
        *DATA_FILES,
        *SRC.rglob("*.py"),
        *SRC.rglob("*.md"),
        *SRC.rglob("*.html"),
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "tests").rglob("*.py"),
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
    ]
    pointing = [_relative(p) for p in texts if p.exists() and outside in p.read_text("utf-8")]
    assert not pointing, f"these point to {outside}/…: {pointing}"


def test_the_docs_reference_is_the_file_the_app_shows():
    # One source of truth: docs/clinical-reference.md links to the package's reference.md,
    # which the /reference/ page reads (web.views) and every installation ships.
    docs = ROOT / "docs" / "clinical-reference.md"
    assert docs.is_symlink(), "docs/clinical-reference.md must be a link, not a second copy"
    assert docs.resolve() == REFERENCE.resolve()
    shown = files("ketacare.clinical").joinpath("reference.md").read_text("utf-8")
    assert docs.read_text("utf-8") == shown


def test_the_booking_policy_is_among_the_checked_files_and_cites_the_reference():
    # The appointment book's policy lives outside clinical/ (scheduling/rules/data/); the walk
    # above must still reach it, and its label fact must cite the REMS section.
    booking = SRC / "scheduling" / "rules" / "data" / "booking.toml"
    assert booking in DATA_FILES
    cited = set().union(*(sections for _, sections in citations(booking)))
    assert {2, 8} <= cited
