"""Opaque cursors for lists in name order.

A cursor names the last patient of the page it ends (signed, so a client can neither forge
one nor read more into it than an id) and the search it belongs to; the next page is the
patients after that one's sort keys, a range the name index serves however deep the page."""

from django.core import signing
from django.db.models import Q

from ketacare.api.errors import ApiError
from ketacare.bounds import parse_id

SALT = "ketacare.api.cursor"


def encode(after_id: int, query: str) -> str:
    return signing.dumps({"after": after_id, "q": query}, salt=SALT, compress=True)


def decode(cursor: str, query: str) -> int:
    """The id the cursor ends after; 400 if it is not one of ours or of another search."""
    try:
        data = signing.loads(cursor, salt=SALT)
    except signing.BadSignature:
        raise ApiError(400, "The cursor is not valid: start again from the first page.") from None
    after = parse_id(data.get("after")) if isinstance(data, dict) else None
    if after is None or data.get("q") != query:
        raise ApiError(400, "The cursor belongs to another search: start again without it.")
    return after


def after_keys(family: str, given: str, pk: int) -> Q:
    """The rows after (family, given, id) in the order ``patients.search.ORDER``."""
    return (
        Q(search_family__gt=family)
        | Q(search_family=family, search_given__gt=given)
        | Q(search_family=family, search_given=given, pk__gt=pk)
    )
