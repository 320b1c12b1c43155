"""Every change to the appointment book (one module each, named for what it changes). Each
runs in one transaction with its audit event; a refusal raises SchedulingError and writes
nothing. An action loads, locks and checks; its ``write_<step>`` builder writes
(``ketacare.writes``, docs/decisions/0113)."""

from ketacare.scheduling.actions.absence import record_absence
from ketacare.scheduling.actions.appointments import (
    book,
    cancel,
    confirm,
    mark_arrived,
    mark_no_show,
    reschedule,
    set_transport,
)
from ketacare.scheduling.actions.common import SchedulingError
from ketacare.scheduling.actions.resources import (
    add_chair,
    add_closure,
    add_shift,
    edit_chair,
    record_authorisation,
    set_opening_hours,
)
from ketacare.scheduling.actions.series import SeriesBooked, book_series

__all__ = [
    "SchedulingError",
    "SeriesBooked",
    "add_chair",
    "add_closure",
    "add_shift",
    "book",
    "book_series",
    "cancel",
    "confirm",
    "edit_chair",
    "mark_arrived",
    "mark_no_show",
    "record_absence",
    "record_authorisation",
    "reschedule",
    "set_opening_hours",
    "set_transport",
]
