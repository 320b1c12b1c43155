"""The dosing day of one session: the board, check-in, the pre-dose gate with its recheck and
override, the dose from the cabinet, monitoring with the blood pressure's rise, severe
hypertension and other alerts, adverse events, the vial's remainder wasted, discharge, and the
esketamine REMS form."""

import math
import random
from collections.abc import Generator, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.session import pre_dose_gate
from ketacare.dev.synth.clock import at, office_day
from ketacare.dev.synth.ops import Plan, vital_signs
from ketacare.dev.synth.people import Profile, clip
from ketacare.dev.synth.questionnaires import CourseQuestionnaires
from ketacare.treatments.actions import Checklist
from ketacare.treatments.models import DoseStep

if TYPE_CHECKING:
    from ketacare.dev.synth.simulation import Sim

INTERVENTIONS = {
    "nausea": ("Ondansetron 4 mg ODT", "Ginger ale and rest; no medication", ""),
    "vomiting": ("Ondansetron 4 mg IV", "Ondansetron 4 mg ODT; emesis bag"),
    "headache": ("Acetaminophen 650 mg PO", "Rest in a dim room", ""),
    "emergence": (
        "Reassurance, lights dimmed, music; no medication",
        "Reassurance; midazolam 1 mg IV",
    ),
    "other": ("Assisted to the chair, fluids", "Rest, fluids"),
}


def _pulse_pressure(values: dict[str, Any]) -> dict[str, Any]:
    """The diastolic at least 20 mmHg below the systolic, as in life."""
    values["diastolic"] = min(values["diastolic"], values["systolic"] - 20)
    return values


class CourseSessionDays(CourseQuestionnaires):
    """The second layer of a patient's course: its dosing days, each from the board to
    discharge (and the esketamine REMS form after), with the weighing a weight-based dose
    needs."""

    def __init__(self, sim: "Sim", profile: Profile) -> None:
        super().__init__(sim, profile)
        self.last_weighed: date | None = None
        self.weight = profile.weight
        self.last_session_day: date | None = None
        # The last systolic pressure recorded while monitoring: discharge waits for one no
        # higher than it (esketamine).
        self.last_systolic = 0

    def weigh(self, nurse: Actor, max_age_days: int) -> None:
        """Weighed again when the last weight is older than ``max_age_days``."""
        today = self.sim.clock.today()
        if self.last_weighed and (today - self.last_weighed).days <= max_age_days:
            return
        self.weight = Decimal(f"{float(self.weight) + self.rng.gauss(0, 0.6):.1f}")
        self.ops.measure(nurse, self.patient, today, self.weight)
        self.last_weighed = today

    def units(self, route: str, dose: Decimal) -> Decimal:
        """What a dose takes from the cabinet."""
        if route == "intranasal":
            return dose / 28  # nasal devices
        return Decimal("20")  # one 20 mL vial of 10 mg/mL; the remainder is wasted

    def session_day(
        self,
        planned_id: int,
        number: int,
        day: date,
        protocol: Protocol,
        dose: Decimal,
        plan: Plan,
        sessions: int,
    ) -> Generator[datetime, None, int]:
        """One dosing day. Returns 1 if a dose was given."""
        sim, p, rng, ops = self.sim, self.p, self.rng, self.ops
        route, gate_route = protocol.route, protocol.eligibility_route
        staff = sim.staff
        nurse = staff.pick(Role.NURSE, rng)
        prescriber = staff.pick(Role.PRESCRIBER, rng)
        slot = rng.randrange(8 * 4, (14 if route == "intranasal" else 15) * 4 + 1)
        t0 = at(day, slot // 4, 15 * (slot % 4))
        yield t0 - timedelta(minutes=40)
        session = ops.open_session(
            staff.pick(Role.COORDINATOR, rng), planned_id, f"Chair {rng.randint(1, sim.chairs)}"
        )
        sim.report.sessions += 1
        if rng.random() < sim.params.no_show_rate:
            yield t0 + timedelta(minutes=30)
            ops.cancel_session(nurse, session, "Did not attend; no answer on the phone.")
            return 0
        # The PHQ-9 before the first dose (the baseline), then weekly, and at the last session.
        weekly = (
            self.first_dose is None
            or number == sessions
            or self.last_session_day is None
            or day.isocalendar()[:2] != self.last_session_day.isocalendar()[:2]
        )
        self.last_session_day = day
        if self.first_dose is None:
            phase = "baseline"
        else:
            phase = "endpoint" if number == sessions else "induction"
        yield t0 - timedelta(minutes=15)
        if weekly and self.in_clinic(nurse, phase):
            yield self.sim.clock() + timedelta(minutes=5)
            ops.acknowledge_safety(
                prescriber,
                self.patient,
                "Seen before today's session: passive thoughts, no plan or intent; safety plan "
                "reviewed. Proceed with treatment.",
            )
        if number == sessions and self.first_dose is not None:
            self.rescreen(nurse)
        if protocol.weight_based:
            self.weigh(nurse, max_age_days=25)
        yield max(t0, self.sim.clock() + timedelta(minutes=1))
        pregnancy = "negative" if p.sex == "female" and p.age < 52 else "not_applicable"
        ops.check_in(nurse, session, Checklist(True, True, pregnancy, True))
        # Pre-dose vital signs and the gate; ten minutes' rest and a recheck when it stops.
        yield self.sim.clock() + timedelta(minutes=5)
        pre = _pulse_pressure(
            {
                "systolic": clip(p.systolic + rng.gauss(2, 8), 90, 175),
                "diastolic": clip(p.diastolic + rng.gauss(1, 6), 50, 108),
                "heart_rate": clip(p.heart_rate + rng.gauss(3, 6), 50, 108),
                "spo2": rng.choice((96, 97, 98, 98, 99, 99, 100)),
                "respiratory_rate": rng.randint(12, 18),
            }
        )
        ops.observe(nurse, session, pre)
        if pre_dose_gate(gate_route, vital_signs(pre)):
            yield self.sim.clock() + timedelta(minutes=10)
            drop = rng.randint(*sim.params.gate_recheck_drop)
            pre = _pulse_pressure(
                {
                    **pre,
                    "systolic": pre["systolic"] - drop,
                    "diastolic": pre["diastolic"] - drop // 2,
                    "heart_rate": pre["heart_rate"] - rng.randint(0, 6),
                }
            )
            ops.observe(nurse, session, pre)
            if pre_dose_gate(gate_route, vital_signs(pre)):
                yield self.sim.clock() + timedelta(minutes=5)
                bp = f"{pre['systolic']}/{pre['diastolic']}"
                if pre["systolic"] <= 160 and pre["diastolic"] <= 100:
                    ops.override_gate(
                        prescriber,
                        session,
                        f"Asymptomatic, {bp} on recheck after rest; no headache or chest pain. "
                        "Benefit outweighs risk: dose, with blood pressure every 10 minutes.",
                    )
                else:
                    ops.cancel_session(
                        nurse,
                        session,
                        f"Blood pressure {bp} on two readings: not dosed today; primary care "
                        "asked to review.",
                    )
                    return 0
        # The dose, dispensed from the cabinet in the same step.
        yield self.sim.clock() + timedelta(minutes=rng.randint(3, 8))
        changed = dose != Decimal(plan.dose_order["dose_mg"])
        ops.start_dose(
            prescriber if changed else nurse,
            session,
            sim.stock.supply(protocol.drug, self.units(route, dose)),
            dose if changed else None,
            "Titrated: partial response so far, earlier doses well tolerated." if changed else "",
        )
        if self.first_dose is None:
            self.first_dose = self.sim.clock()
        sim.report.dosed += 1
        yield from self.monitor(session, protocol, dose, self.sim.clock(), pre, nurse, prescriber)
        if route == "intranasal":
            sim.spawn(self.rems(session, number))
        return 1

    def monitor(
        self,
        session: int,
        protocol: Protocol,
        dose: Decimal,
        dosed_at: datetime,
        pre: dict[str, int],
        nurse: Actor,
        prescriber: Actor,
    ) -> Iterator[datetime]:
        """Devices or pump steps; vital signs at the protocol's times, the blood pressure
        peaking about 40 minutes after the dose (Yale: +16/+11 mmHg); alerts acknowledged;
        adverse events; the vial's remainder wasted; discharge."""
        sim, p, rng, ops = self.sim, self.p, self.rng, self.ops
        params = sim.params
        route = protocol.route
        rise = (
            max(0.0, rng.gauss(params.peak_bp_rise[0], 8)),
            max(0.0, rng.gauss(params.peak_bp_rise[1], 5)),
        )
        severe = rng.random() < params.severe_hypertension_rate * p.hypertension_factor
        tachycardia = rng.random() < params.tachycardia_rate
        desaturation = rng.random() < params.desaturation_rate
        peak = 30 if route == "im" else 40
        times = {"iv": [10, 20, 30, 40], "im": [15, 30, 45, 60]}.get(route, [40, 90])

        def vitals(minute: float, final: bool = False) -> dict[str, Any]:
            x = max(0.0, minute / peak)
            shape = x * x * math.exp(2 * (1 - x))  # 0 at the dose, 1 at the peak, then down
            dissociation = math.exp(-(((minute - peak * 0.9) / 25) ** 2))
            values = {
                "systolic": clip(pre["systolic"] + rise[0] * shape + rng.gauss(0, 4), 90, 180),
                "diastolic": clip(pre["diastolic"] + rise[1] * shape + rng.gauss(0, 3), 50, 110),
                "heart_rate": clip(pre["heart_rate"] + 8 * shape + rng.gauss(0, 4), 50, 115),
                "spo2": rng.choice((95, 96, 97, 98, 98, 99)),
                "respiratory_rate": rng.randint(12, 18),
                "moaas": 5 if final or dissociation < 0.3 else rng.choice((3, 4, 4, 4, 5)),
                "cadss": 0 if final else clip(18 * dissociation + rng.gauss(0, 3), 0, 40),
            }
            if final:  # what allows discharge: back within the limits, and no longer rising
                values["systolic"] = min(values["systolic"], 158, self.last_systolic)
                values["diastolic"] = min(values["diastolic"], 98)
                values["heart_rate"] = min(values["heart_rate"], 105)
            return _pulse_pressure(values)

        if route == "intranasal":  # the first device went with the dose; five minutes apart
            for _ in range(int(dose / 28) - 1):
                yield self.sim.clock() + timedelta(minutes=5)
                ops.give_device(nurse, session)
        events = self.adverse_events(protocol.drug)
        wasted = route == "intranasal"  # whole devices: nothing left over
        ended_at = None if route == "iv" else dosed_at
        severe_at = rng.choice([m for m in times if m >= peak - 10]) if severe else None
        paused = 0
        for minute in times:
            yield dosed_at + timedelta(minutes=minute + paused)
            values = vitals(minute)
            if minute == severe_at:
                if rng.random() < 0.8:
                    values["systolic"] = rng.randint(181, 204)
                else:
                    values["diastolic"] = rng.randint(111, 118)
                sim.report.severe_hypertension += 1
                during = route == "iv" and minute < 40
                yield from self.severe(session, values, nurse, prescriber, during)
                paused += 12 if during else 0
            else:
                if tachycardia and minute == times[1]:
                    values["heart_rate"] = rng.randint(121, 134)
                    events.append(("tachycardia", "mild", "Rest; settled without treatment", 0))
                if desaturation and minute == times[0]:
                    values["spo2"] = rng.randint(88, 91)
                    events.append(("desaturation", "mild", "Prompted to breathe deeply", 0))
                self.observe(session, values, nurse, prescriber)
            for event in [e for e in events if e[3] <= minute + paused]:
                self.adverse_event(session, nurse, event)
                events.remove(event)
            if route == "iv" and minute == 40:
                yield self.sim.clock() + timedelta(minutes=1)
                ops.pump(nurse, session, DoseStep.Kind.INFUSION_END)
                ended_at = self.sim.clock()
            if not wasted:  # what the vial holds beyond the dose, before a witness
                yield self.sim.clock() + timedelta(minutes=2)
                ops.waste(nurse, session, sim.staff.witness(nurse, rng))
                wasted = True
        for event in events:
            self.adverse_event(session, nurse, event)
        assert ended_at is not None
        if route == "iv":  # every 15 minutes for the half hour after the infusion
            for minute in (15, 30):
                yield ended_at + timedelta(minutes=minute)
                self.observe(
                    session, vitals(40 + paused + minute, final=minute == 30), nurse, prescriber
                )
        else:  # the check before discharge
            last = 120 if route == "intranasal" else times[-1] + 2
            yield max(dosed_at + timedelta(minutes=last), self.sim.clock() + timedelta(minutes=5))
            self.observe(session, vitals(last, final=True), nurse, prescriber)
        yield self.sim.clock() + timedelta(minutes=rng.randint(2, 10))
        ops.discharge(nurse, session, route != "intranasal" or rng.random() < 0.6)

    def observe(
        self, session: int, values: dict[str, Any], nurse: Actor, prescriber: Actor
    ) -> None:
        """Vital signs; an alert they raise is acknowledged at once by the prescriber, who is
        on site while patients are dosed."""
        self.last_systolic = values["systolic"]
        for alert in self.ops.observe(nurse, session, values):
            self.ops.acknowledge_alert(
                prescriber,
                alert,
                "Assessed at the chair: asymptomatic; repositioned, rechecked and settling. "
                "Continue monitoring.",
            )

    def severe(
        self,
        session: int,
        values: dict[str, Any],
        nurse: Actor,
        prescriber: Actor,
        during: bool,
    ) -> Iterator[datetime]:
        """Severe hypertension: the alert, the infusion paused, the prescriber's
        acknowledgement, a recheck ten minutes later."""
        ops = self.ops
        raised = ops.observe(nurse, session, values)
        self.last_systolic = values["systolic"]
        if during:
            yield self.sim.clock() + timedelta(minutes=1)
            ops.pump(nurse, session, DoseStep.Kind.PAUSE, note="Blood pressure alert")
        yield self.sim.clock() + timedelta(minutes=2)
        for alert in raised:
            ops.acknowledge_alert(
                prescriber,
                alert,
                f"BP {values['systolic']}/{values['diastolic']}: assessed at the chair, no "
                "headache, chest pain or neurological signs."
                + (" Infusion paused; recheck in 10 minutes." if during else " Recheck soon."),
            )
        ops.adverse_event(
            nurse,
            session,
            "hypertension",
            "moderate",
            "",
            "Infusion paused; quiet room; BP rechecked" if during else "Quiet room; BP rechecked",
        )
        yield self.sim.clock() + timedelta(minutes=8)
        calmer = _pulse_pressure(
            {
                **values,
                "systolic": min(values["systolic"], 176) - self.rng.randint(8, 18),
                "diastolic": min(values["diastolic"], 108) - self.rng.randint(4, 10),
            }
        )
        ops.observe(nurse, session, calmer)
        self.last_systolic = calmer["systolic"]
        if during:
            yield self.sim.clock() + timedelta(minutes=1)
            ops.pump(nurse, session, DoseStep.Kind.RESUME)

    def adverse_events(self, drug: str) -> list[tuple[str, str, str, int]]:
        rng = self.rng
        events = []
        for kind, rate in self.sim.params.adverse_event_rates[drug].items():
            if rng.random() < rate:
                severity = rng.choices(("mild", "moderate", "severe"), weights=(80, 18, 2))[0]
                events.append(
                    (kind, severity, rng.choice(INTERVENTIONS[kind]), rng.randint(15, 60))
                )
        return events

    def adverse_event(self, session: int, nurse: Actor, event: tuple[str, str, str, int]) -> None:
        kind, severity, intervention, _ = event
        description = "Dizziness or vertigo" if kind == "other" else ""
        self.ops.adverse_event(nurse, session, kind, severity, description, intervention)

    def rems(self, session: int, number: int) -> Iterator[datetime]:
        """The esketamine REMS Patient Monitoring Form, submitted within a few days."""
        seed = f"{self.sim.params.seed}/rems/{self.p.number}/{number}"
        rng = random.Random(seed)  # noqa: S311
        day = office_day(self.sim.clock.today() + timedelta(days=rng.randint(1, 4)))
        yield at(day, rng.randint(9, 16), rng.choice((0, 15, 30, 45)))
        reference = f"PMF-{rng.randint(10**7, 10**8 - 1)}"
        self.ops.rems(self.sim.staff.pick(Role.NURSE, rng), session, reference)
