"""The event loop: the clinic and its queue of courses, each a generator resumed at the time
it last yielded, in time order."""

import heapq
import math
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.course import Course
from ketacare.dev.synth.ops import ActionOps, Ops
from ketacare.dev.synth.params import SynthError, SynthParams, SynthReport
from ketacare.dev.synth.people import draw_profile
from ketacare.dev.synth.setup import Staff
from ketacare.dev.synth.stock import Stock


class Sim:
    """The clinic and its queue of courses, each resumed at the time it last yielded."""

    def __init__(
        self, params: SynthParams, staff: Staff, ops: Ops, stock: Stock, clock: Clock
    ) -> None:
        self.params, self.staff, self.ops, self.stock, self.clock = params, staff, ops, stock, clock
        self.clinic = staff.clinic
        self.report = SynthReport(clinic_id=self.clinic.pk)
        # About three sessions per chair a day.
        per_day = params.patients * 7 / max(1.0, params.months * 21)
        self.chairs = max(4, math.ceil(per_day / 3))
        self.queue: list[tuple[datetime, int, Iterator[datetime]]] = []
        self.sequence = 0

    def spawn(self, course: Iterator[datetime], when: datetime | None = None) -> None:
        """Start ``course`` at ``when`` (default now): it runs to its first yield then."""
        self.sequence += 1
        heapq.heappush(self.queue, (when or self.clock(), self.sequence, course))

    def clinic_day(self, day: date) -> date:
        while day.weekday() not in self.clinic.weekdays:
            day += timedelta(days=1)
        return day

    def run(self, end: datetime, progress: Callable[[int], None] | None) -> None:
        """Resume courses in time order until ``end``; what comes later stays undone. Through
        the actions, one transaction per simulated day: their own transactions become
        savepoints inside it (same rows, same checks), and the disk is synced once a day, not
        after every step."""
        current: date | None = None
        day_transaction: Any = None
        try:
            while self.queue:
                when, _, course = heapq.heappop(self.queue)
                if when >= end:
                    continue
                day = timezone.localdate(when)
                if day != current:
                    if day_transaction is not None:
                        day_transaction.__exit__(None, None, None)
                        day_transaction = None
                    self.ops.checkpoint()
                    if isinstance(self.ops, ActionOps):  # the bulk path writes in batches
                        day_transaction = transaction.atomic()
                        day_transaction.__enter__()
                    if progress and current is not None:
                        progress((day - current).days)
                    current = day
                self.clock.at = when.astimezone(UTC)
                try:
                    following = next(course)
                except StopIteration:
                    continue
                self.report.steps += 1
                if following < when:
                    raise SynthError(f"A step went back in time: {following} after {when}.")
                self.sequence += 1
                heapq.heappush(self.queue, (following, self.sequence, course))
        except BaseException as error:
            if day_transaction is not None:
                day_transaction.__exit__(type(error), error, error.__traceback__)
            raise
        if day_transaction is not None:
            day_transaction.__exit__(None, None, None)
        if progress and current is not None:
            progress((timezone.localdate(end) - current).days)
        for _, _, course in self.queue:
            if isinstance(course, Generator):
                course.close()  # courses still under way at the end let go of their patients


def patient_course(sim: Sim, n: int, referred: datetime) -> Iterator[datetime]:
    """Patient ``n``'s course, its story drawn when it begins (a course waiting costs little)."""
    yield from Course(sim, draw_profile(sim.params, n, referred)).run()
