"""Patient search by name prefix, MRN, date of birth or birth year, served by B-tree indexes.

Names are matched on normalized keys (lowercase, accents folded, no spaces or punctuation), as
a range ``key >= prefix AND key < next(prefix)``; MRNs (digits only) the same way. A range uses
the ordinary index on SQLite and PostgreSQL alike, where ``LIKE 'x%'`` needs a special index or
collation on each.

A token that can match two columns (a name: family or given; four digits: MRN or birth year)
becomes a UNION of one query per column rather than an OR. Each branch then has exactly one
index that fits it, so the plan does not depend on planner statistics (SQLite has none unless
someone runs ANALYZE), and ordering the union cannot tempt the planner into walking the name
index from "a" to fill a LIMIT.
"""

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

if TYPE_CHECKING:
    from ketacare.patients.models import Patient

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# Latin letters that Unicode does not decompose into a base letter plus accent.
TRANSLITERATE = str.maketrans(
    {"ø": "o", "ł": "l", "ß": "ss", "đ": "d", "ð": "d", "ı": "i", "æ": "ae", "œ": "oe",
     "þ": "th", "ħ": "h", "ŀ": "l"}
)  # fmt: skip
NOTHING = Q(pk__in=[])


def normalize_name(name: str) -> str:
    """'Ñúñez-O'Brien' -> 'nunezobrien', 'Søren' -> 'soren', 'Иванова' -> 'иванова'.

    Latin letters are folded to ASCII; letters of other scripts are kept, lowercased.
    """
    lowered = name.casefold().translate(TRANSLITERATE)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest key greater than every key starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = chars[-1]
        if last not in ALPHABET:
            # Other scripts: the next code point (keys of such names assume a code-point
            # ordered collation, as C and C.UTF-8 are).
            chars[-1] = chr(ord(last) + 1)
            return "".join(chars)
        position = ALPHABET.index(last)
        if position + 1 < len(ALPHABET):
            chars[-1] = ALPHABET[position + 1]
            return "".join(chars)
        chars.pop()
    return None


def prefix_q(field: str, prefix: str) -> Q:
    q = Q(**{f"{field}__gte": prefix})
    upper = prefix_upper_bound(prefix)
    return q & Q(**{f"{field}__lt": upper}) if upper else q


def parse_date(token: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(token, fmt).date()
        except ValueError:
            continue
    return None


def token_alternatives(token: str, today: date) -> list[Q]:
    """The ways one token can match a patient; it matches if any of them does."""
    dob = parse_date(token)
    if dob is not None:
        return [Q(date_of_birth=dob)]
    if token.isdigit():
        alternatives = [prefix_q("mrn", token)]
        if len(token) == 4 and 1900 <= int(token) <= today.year:
            alternatives.append(Q(date_of_birth__year=int(token)))
        return alternatives
    key = normalize_name(token)
    if not key:
        return [NOTHING]  # nothing searchable in it: match no one rather than everyone
    return [prefix_q("search_family", key), prefix_q("search_given", key)]


ORDER = ("search_family", "search_given", "id")


def search(patients: "QuerySet[Patient]", query: str, today: date) -> "QuerySet[Patient]":
    """The patients matching every token of ``query``, in name order (see the module
    docstring)."""
    per_token = [token_alternatives(token, today) for token in query.split()]
    branching = next((i for i, alts in enumerate(per_token) if len(alts) > 1), None)
    rest = Q()
    for i, alternatives in enumerate(per_token):
        if i != branching:
            either = Q()
            for alternative in alternatives:
                either |= alternative
            rest &= either
    if branching is None:
        # Sorting on an expression keeps the planner off the name index, which would serve the
        # ORDER BY but not the filter (a birth date, an MRN) and so scan the whole clinic.
        # The keys are lowercase already, so Lower() changes no order.
        return patients.filter(rest).order_by(Lower("search_family"), Lower("search_given"), "id")
    first, *others = [patients.filter(rest & alt) for alt in per_token[branching]]
    return first.union(*others).order_by(*ORDER)


# --- likely duplicates ------------------------------------------------------------------------

# A phone number is compared on its last ten digits, the national number of the North American
# numbering plan the clinics use, so "+1 555 010 0199" and "(555) 010-0199" are one number.
NATIONAL_DIGITS = 10
# Fewer digits than this is not a number that identifies anyone (an extension, a typo).
MIN_PHONE_DIGITS = 7


def phone_key(phone: str) -> str:
    """The digits that identify a phone number ("" if too few to identify anyone)."""
    digits = "".join(ch for ch in phone if ch.isdigit())[-NATIONAL_DIGITS:]
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


@dataclass(frozen=True)
class Duplicate:
    """An existing patient who may be the one being registered, and why."""

    patient: Any
    reasons: tuple[str, ...]


def likely_duplicates(
    patients: "QuerySet[Patient]",
    given_name: str,
    family_name: str,
    date_of_birth: date,
    phone: str = "",
    email: str = "",
) -> list[Duplicate]:
    """The patients of ``patients`` (one clinic's) who share the name and birth date (in either
    name order, accents and case aside), the phone number or the email address.

    The birth date has an index; the phone and email are compared across the clinic, which is
    cheap enough for a registration. The query selects phones ending in the same two digits;
    the comparison of whole numbers is made here."""
    given, family = normalize_name(given_name), normalize_name(family_name)
    same_name = Q(search_family=family, search_given=given) | Q(
        search_family=given, search_given=family
    )
    wanted = Q(date_of_birth=date_of_birth) & same_name
    key, address = phone_key(phone), email.strip()
    if key:
        wanted |= Q(phone__endswith=key[-2:])
    if address:
        wanted |= Q(email__iexact=address)
    found = []
    for patient in patients.filter(wanted).order_by(*ORDER):
        reasons = []
        if patient.date_of_birth == date_of_birth and {
            patient.search_family,
            patient.search_given,
        } == {family, given}:
            reasons.append("same name and date of birth")
        if key and phone_key(patient.phone) == key:
            reasons.append("same phone number")
        if address and patient.email.casefold() == address.casefold():
            reasons.append("same email address")
        if reasons:
            found.append(Duplicate(patient, tuple(reasons)))
    return found
