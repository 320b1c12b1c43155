"""The iCalendar writer (RFC 5545): text escaped, long lines folded at 75 octets without
splitting a character, times in UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ketacare.scheduling import ical


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_text_is_escaped():
    assert ical.escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert ical.escape("bell\x07 and\r\nbreak") == "bell and\\nbreak"


def test_long_lines_fold_at_75_octets_and_unfold_to_the_same():
    line = "SUMMARY:" + "é" * 100 + "x" * 50
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 1
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert folded.replace("\r\n ", "") == line


def test_a_short_line_is_left_alone():
    assert ical.fold("UID:1") == "UID:1"


def test_times_are_utc():
    new_york = ZoneInfo("America/New_York")
    assert ical.utc(datetime(2026, 11, 1, 10, tzinfo=new_york)) == "20261101T150000Z"
    assert ical.utc(datetime(2026, 10, 30, 10, tzinfo=new_york)) == "20261030T140000Z"
    with pytest.raises(ValueError):
        ical.utc(datetime(2026, 11, 1, 10))


def test_a_calendar_of_events():
    start = datetime(2026, 12, 8, 9, tzinfo=UTC)
    events = [
        ical.Event("a@x", start, start.replace(hour=11), "A.L. – Appointment", "Chair 1"),
        ical.Event("b@x", start, start.replace(hour=10), "G.H. – Appointment", cancelled=True),
    ]
    text = ical.calendar("Riverside, appointments", events, start)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert "X-WR-CALNAME:Riverside\\, appointments" in lines
    assert lines.count("BEGIN:VEVENT") == 2
    assert "DTSTART:20261208T090000Z" in lines and "DTEND:20261208T110000Z" in lines
    assert "LOCATION:Chair 1" in lines
    assert lines.count("STATUS:CONFIRMED") == 1 and lines.count("STATUS:CANCELLED") == 1
