"""The crisis lines and notices the public pages show, from ``data/crisis_lines.toml``."""

from dataclasses import dataclass

from django.utils.translation import get_language

from ketacare.accounts.models import Clinic
from ketacare.clinical.datafiles import load

PACKAGE = "ketacare.referrals"


@dataclass(frozen=True)
class CrisisLines:
    heading: str
    lines: tuple[str, ...]
    not_monitored: str
    portal_not_monitored: str
    """The same for the portal's pages (its messages and forms)."""
    clinic_line: str
    """The clinic's own line, where the clinic has a phone; else empty."""
    call: str
    text: str
    emergency: str
    source: str


def countries() -> dict[str, str]:
    """The countries whose lines the data file has: code → name, the default first."""
    data = load("crisis_lines", PACKAGE)
    known = {code: lines["name"] for code, lines in data["countries"].items()}
    default = data["default_country"]
    return {default: known[default], **known}


def default_country() -> str:
    return str(load("crisis_lines", PACKAGE)["default_country"])


def crisis_lines(clinic: Clinic) -> CrisisLines:
    """What to show at ``clinic``: its country's lines (the data file's default country for a
    clinic that has not said), and the clinic's own number when it has one. Worded in the
    active language where the data file has it (a patient page in Spanish), else English."""
    data = load("crisis_lines", PACKAGE)
    lines = data["countries"].get(clinic.country or data["default_country"])
    if lines is None:
        lines = data["countries"][data["default_country"]]
    policy = data["policy"]
    language = (get_language() or "en").split("-")[0]
    worded, policy_worded = lines.get(language, lines), policy.get(language, policy)
    own = (
        policy_worded["clinic_line"].format(clinic=clinic.name, phone=clinic.phone)
        if clinic.phone
        else ""
    )
    return CrisisLines(
        worded["heading"],
        tuple(worded["lines"]),
        policy_worded["not_monitored"],
        policy_worded["portal_not_monitored"],
        own,
        lines["call"],
        lines["text"],
        lines["emergency"],
        lines["source"],
    )
