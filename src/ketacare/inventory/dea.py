"""DEA registration numbers: two letters and seven digits, the last a check digit."""

import re

DEA_NUMBER = re.compile(r"^[A-Z][A-Z9][0-9]{7}$")


def dea_number_problem(number: str) -> str | None:
    """Why ``number`` is not a well-formed DEA registration number, or None.

    Check digit: (d1 + d3 + d5) + 2 × (d2 + d4 + d6); its last digit is d7 — the published
    DEA algorithm, used by pharmacies to catch mistyped numbers."""
    if not DEA_NUMBER.match(number):
        return "A DEA number is two letters and seven digits, e.g. AB1234563."
    d = [int(c) for c in number[2:]]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    if check != d[6]:
        return f"{number} fails the DEA check digit (expected {check} last): is it mistyped?"
    return None
