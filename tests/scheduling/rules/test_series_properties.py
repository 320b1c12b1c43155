"""Whatever the clinic's chairs, staff and existing bookings, a proposed series never puts two
patients in one chair at once and never leaves more patients per nurse than the policy allows.

The checks here are written again from the definitions, not with the rules' own functions:
every time in these clinics falls on a quarter hour, so looking at each quarter hour of an
appointment sees every moment a count can change."""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacare.clinical.protocols.library import get_protocol
from ketacare.clinical.protocols.schedule import induction_schedule
from ketacare.scheduling.rules import Booking, Chair, Shift, propose_series
from tests.scheduling.rules.clinic import MONDAY, POLICY, at, booking, context

DAYS = 24
CAPABILITIES = st.frozensets(st.sampled_from(["iv_pump", "nasal_spray"]))


@st.composite
def clinics(draw: st.DrawFn) -> dict[str, object]:
    chairs = tuple(
        Chair(n, f"Chair {n}", draw(CAPABILITIES)) for n in range(1, draw(st.integers(1, 3)) + 1)
    )
    shift_list: list[Shift] = []
    for offset in range(DAYS):
        day = MONDAY + timedelta(days=offset)
        for staff_id in range(draw(st.integers(0, 2))):
            start = draw(st.integers(8, 12))
            shift_list.append(
                Shift(staff_id, "nurse", at(day, start), at(day, draw(st.integers(start + 1, 17))))
            )
        if draw(st.booleans()):
            shift_list.append(
                Shift(99, "prescriber", at(day, 8), at(day, draw(st.integers(9, 17))))
            )
    existing = tuple(
        booking(
            draw(st.sampled_from([c.id for c in chairs])),
            at(MONDAY + timedelta(days=draw(st.integers(0, DAYS - 1))), draw(st.integers(8, 15))),
            15 * draw(st.integers(2, 12)),
            patient_id=100 + n,
            protocol_id=None,
        )
        for n in range(draw(st.integers(0, 25)))
    )
    return {"chairs": chairs, "shift_list": tuple(shift_list), "bookings": existing}


def _overlap(a: Booking, b: Booking, gap: timedelta) -> bool:
    return a.start < b.end + gap and b.start < a.end + gap


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clinic=clinics(),
    protocol_id=st.sampled_from(["esketamine_trd", "iv_ketamine", "im_ketamine"]),
)
def test_a_proposed_series_never_double_books_a_chair_or_breaks_the_nurse_ratio(
    clinic, protocol_id
):
    protocol = get_protocol(protocol_id)
    existing = clinic["bookings"]
    ctx = context(existing, chairs=clinic["chairs"], shift_list=clinic["shift_list"])
    proposal = propose_series(protocol, induction_schedule(protocol, MONDAY), 1, ctx)
    assert len(proposal.placed) + len(proposal.unplaced) == protocol.raw["induction"]["sessions"]

    turnover = timedelta(minutes=POLICY.turnover_minutes)
    everyone = [*existing, *proposal.placed]
    nurses = [s for s in clinic["shift_list"] if s.role == "nurse"]
    for placed in proposal.placed:
        for other in everyone:
            if other is not placed and other.chair_id == placed.chair_id:
                assert not _overlap(placed, other, turnover), (placed, other)
        moment = placed.start
        while moment < placed.end:
            seated = sum(1 for b in everyone if b.start <= moment < b.end)
            on_shift = sum(1 for s in nurses if s.start <= moment < s.end)
            assert seated <= on_shift * POLICY.patients_per_nurse, (placed, moment)
            moment += timedelta(minutes=15)
    for unplaced in proposal.unplaced:
        assert unplaced.days and all(day.reasons for day in unplaced.days)
