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
    clinic_line: str
    """The clinic's own line, where the clinic has a phone; else empty."""
    call: str
    text: str
    emergency: str
    source: str


def crisis_lines(clinic: Clinic, country: str | None = None) -> CrisisLines:
    """What to show at ``clinic``: its country's lines (the data file's default country until
    clinics record theirs), and the clinic's own number when it has one. Worded in the active
    language where the data file has it (a patient page in Spanish), else in English."""
    data = load("crisis_lines", PACKAGE)
    lines = data["countries"].get(country or data["default_country"])
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
        own,
        lines["call"],
        lines["text"],
        lines["emergency"],
        lines["source"],
    )
