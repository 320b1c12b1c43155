"""``synthesize``: one run of the synthetic program, its staff acting at the simulated clock
and sending their messages nowhere."""

import time as wallclock
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.passwords import machine_secret
from ketacare.accounts.permissions import Role
from ketacare.actor import SYSTEM
from ketacare.dev.synth.bulk import BulkOps
from ketacare.dev.synth.clock import Clock, at
from ketacare.dev.synth.ops import ActionOps, Ops
from ketacare.dev.synth.params import SynthError, SynthParams, SynthReport, span_days
from ketacare.dev.synth.people import referred_at
from ketacare.dev.synth.setup import Staff, stock_setup, synthetic_clinic
from ketacare.dev.synth.simulation import Sim, patient_course
from ketacare.dev.synth.sinks import sink_for
from ketacare.dev.synth.stock import Stock, routine
from ketacare.outbox import DISCARD


def synthesize(
    params: SynthParams,
    *,
    bulk: bool = False,
    progress: Callable[[int], None] | None = None,
    writer: str = "auto",
) -> SynthReport:
    """Run the synthetic program into the configured database (see ``ketacare.dev.synth``).
    ``progress`` is called with the number of simulated days done since its last call.

    ``writer`` (bulk path): "process" writes from a forked process with its own connection,
    so that hashing and writing overlap with the simulation; "local" in this process;
    "auto" is "process" unless the database is SQLite in memory, the caller is inside a
    transaction (as the tests are) or the platform cannot fork. "loopback" sends the
    process's messages to a writer in this process, for the tests."""
    if settings.KETACARE_REQUIRE_2FA:
        # Synthetic staff sign as staff do (accounts.reauth), second factor included, and
        # have no authenticator: say so before anything is written, not at the first signature.
        raise SynthError(
            "Synthetic prescribers have no authenticator app, and KETACARE_REQUIRE_2FA is on: "
            "run `ketacare synth` without it (e.g. against a copy of the database)."
        )
    began = wallclock.perf_counter()
    end_day = params.end or timezone.localdate()
    start_day = end_day - timedelta(days=span_days(params.months, end_day))
    clock = Clock()
    clock.at = at(start_day - timedelta(days=1), 8).astimezone(UTC)
    # Everyone acts at the program's clock, and their messages to fictional people go nowhere.
    system = replace(SYSTEM, clock=clock, outbox=DISCARD)
    with transaction.atomic():
        clinic = synthetic_clinic(params, system)
        # Never shown: nobody signs in as synthetic staff.
        password = machine_secret(clinic)
        staff = Staff(clinic, password, system)
        setup = stock_setup(staff)
    ops: Ops = (
        BulkOps(setup, staff, clock, sink_for(writer))
        if bulk
        else ActionOps(setup, password, clock)
    )
    stock = Stock(setup, ops, staff.by_role[Role.CLINIC_ADMIN][0])
    sim = Sim(params, staff, ops, stock, clock)
    days = (end_day - start_day).days
    for n in range(params.patients):
        # Drawn when the patient is referred: a course waiting in the queue costs little.
        referred = referred_at(params, n, start_day, days)
        sim.spawn(patient_course(sim, n, referred), referred)
    sim.spawn(routine(stock, start_day, end_day), at(start_day, 0))
    sim.run(at(end_day, 0), progress)
    ops.finish()
    sim.report.seconds = wallclock.perf_counter() - began
    if isinstance(ops, BulkOps):
        sim.report.write_seconds = ops.write_seconds
    return sim.report
