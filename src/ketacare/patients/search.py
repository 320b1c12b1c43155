"""Patient search by name prefix, MRN or date of birth, served by B-tree indexes.

Names are matched on normalized keys (lowercase ASCII letters and digits only), as a range
``key >= prefix AND key < next(prefix)``. A range uses the ordinary index on both SQLite and
PostgreSQL and means the same under any collation, because the keys hold no punctuation,
spaces or capitals for a collation to treat specially.
"""

import re
import unicodedata
from datetime import date, datetime

from django.db.models import Q

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def normalize_name(name: str) -> str:
    """'Ñúñez-O'Brien' -> 'nunezobrien': accents folded, only [a-z0-9] kept."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]", "", ascii_only)


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest key greater than every key starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        position = ALPHABET.index(chars[-1])
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


def search_q(query: str) -> Q:
    """A filter for the query: every token must match (a name prefix, an MRN or a birth date)."""
    combined = Q()
    for token in query.split():
        dob = parse_date(token)
        if dob is not None:
            combined &= Q(date_of_birth=dob)
        elif token.isdigit():
            combined &= Q(mrn__startswith=token)
        else:
            key = normalize_name(token)
            if key:
                combined &= prefix_q("search_family", key) | prefix_q("search_given", key)
    return combined
