"""A small iCalendar (RFC 5545) writer for the staff calendar feed: the few properties a
calendar application needs to show a staff member's appointments. No Django here.

Written by hand because no iCalendar library is among the project's dependencies, and a feed
of plain events needs only escaping (3.3.11), line folding (3.1) and UTC times (3.3.5)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

# 3.1: lines of no more than 75 octets, not counting the line break.
LINE_OCTETS = 75
CRLF = "\r\n"


@dataclass(frozen=True)
class Event:
    """One VEVENT. ``summary`` and ``location`` are shown to whoever sees the calendar (and
    on a phone's lock screen): callers put no health information in them."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    cancelled: bool = False
    # 3.8.7.4: raised each time the event changes, so that clients take the new version.
    sequence: int = 0


def escape(text: str) -> str:
    """A TEXT value (3.3.11): backslash, semicolon and comma escaped, line breaks as ``\\n``;
    other control characters, which the grammar does not allow, dropped."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return "".join(ch for ch in text if ch == "\t" or (ord(ch) >= 0x20 and ord(ch) != 0x7F))


def fold(line: str) -> str:
    """``line`` folded into lines of at most 75 octets (UTF-8), each continuation starting
    with a space; never splits a character."""
    parts: list[str] = []
    current, size = "", 0
    limit = LINE_OCTETS
    for ch in line:
        width = len(ch.encode())
        if size + width > limit:
            parts.append(current)
            # The leading space of a continuation line counts towards its 75 octets.
            current, size, limit = "", 0, LINE_OCTETS - 1
        current += ch
        size += width
    parts.append(current)
    return (CRLF + " ").join(parts)


def utc(moment: datetime) -> str:
    """A DATE-TIME in UTC (form #2 of 3.3.5): ``20261101T150000Z``."""
    if moment.tzinfo is None:
        raise ValueError("An iCalendar time needs its zone.")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(name: str, events: Iterable[Event], stamp: datetime) -> str:
    """The VCALENDAR text of ``events``, named ``name`` for the calendar application, with
    ``stamp`` (when the feed was made) as every event's DTSTAMP."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ketacare//appointment book//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape(event.uid)}",
            f"DTSTAMP:{utc(stamp)}",
            f"DTSTART:{utc(event.start)}",
            f"DTEND:{utc(event.end)}",
            f"SEQUENCE:{event.sequence}",
            f"SUMMARY:{escape(event.summary)}",
        ]
        if event.location:
            lines.append(f"LOCATION:{escape(event.location)}")
        lines.append("STATUS:CANCELLED" if event.cancelled else "STATUS:CONFIRMED")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
