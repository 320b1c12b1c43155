"""A patient's course of treatment: referral, intake, the evaluation and its signature, a
specialist's clearance when one is needed, the signed plan, the induction sessions with
their rescheduling and titration, and the follow-up."""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.clinical.eligibility import OVERRIDABLE
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.schedule import ScheduleError, reschedule
from ketacare.dev.synth.clock import at, office_day
from ketacare.dev.synth.ops import Plan
from ketacare.dev.synth.people import demographics
from ketacare.dev.synth.session_day import CourseSessionDays
from ketacare.patients.models import ConsentRecord
from ketacare.planning.actions import PlanRequest


class Course(CourseSessionDays):
    """A patient's course as a generator of the times of its next steps: the queue resumes it
    at each time it yields, with the clock set there. Referral, intake, the evaluation, the
    plan, the induction sessions (``session_day``) and the follow-up questionnaires
    (``questionnaires``)."""

    def run(self) -> Iterator[datetime]:
        try:
            yield from self.course()
        finally:
            if self.patient:
                self.ops.forget(self.patient)

    def course(self) -> Iterator[datetime]:
        sim, p, rng = self.sim, self.p, self.rng
        staff = sim.staff
        yield p.referred
        coordinator = staff.pick(Role.COORDINATOR, rng)
        self.patient = self.ops.create_patient(coordinator, demographics(p, rng))
        # Questionnaires go out by link: the patient agrees to be contacted that way.
        self.ops.consent(coordinator, self.patient, ConsentRecord.Kind.MEASUREMENT_LINKS)
        if p.research_consent:
            self.ops.consent(coordinator, self.patient, ConsentRecord.Kind.RESEARCH_REGISTRY)
        self.last_weighed = self.sim.clock.today()
        sim.report.patients += 1
        yield self.sim.clock() + timedelta(minutes=20)
        nurse = staff.pick(Role.NURSE, rng)
        screens = self.screens(nurse)
        if self.in_clinic(nurse, "intake"):
            yield self.sim.clock() + timedelta(minutes=rng.randint(20, 90))
            self.ops.acknowledge_safety(
                staff.pick(Role.PRESCRIBER, rng),
                self.patient,
                "Spoke with the patient at intake: passive thoughts, no plan or intent. Safety "
                "plan written together; 988 given.",
            )

        # The evaluation visit.
        day = office_day(self.sim.clock.today() + timedelta(days=rng.randint(3, 14)))
        yield at(day, rng.randint(9, 14), rng.choice((0, 30)))
        nurse = staff.pick(Role.NURSE, rng)
        prescriber = staff.pick(Role.PRESCRIBER, rng)
        self.weigh(nurse, max_age_days=7)
        answers = {
            **p.findings,
            **screens,
            "vitals.systolic": p.systolic,
            "vitals.diastolic": p.diastolic,
            "vitals.heart_rate": p.heart_rate,
        }
        evaluation = self.ops.start_evaluation(nurse, self.patient, answers)
        p.findings = {}  # recorded: not kept for the months the course lasts
        yield self.sim.clock() + timedelta(minutes=rng.randint(15, 40))
        self.ops.complete_evaluation(nurse, evaluation)
        yield self.sim.clock() + timedelta(minutes=rng.randint(20, 90))
        verdicts = self.ops.sign_evaluation(prescriber, evaluation)
        route = self.choose_route(verdicts)
        if route is None:
            return  # not treated: excluded, or no clearance came
        protocol_id, eligibility_route = route
        if verdicts[eligibility_route]["verdict"] in OVERRIDABLE:
            # The specialist's letter comes one to three weeks later.
            day = office_day(self.sim.clock.today() + timedelta(days=rng.randint(7, 21)))
            yield at(day, rng.randint(9, 16), rng.choice((0, 30)))
            prescriber = staff.pick(Role.PRESCRIBER, rng)
            rules = ", ".join(
                f["id"].replace("_", " ") for f in verdicts[eligibility_route]["fired"]
            )
            self.ops.override_eligibility(
                prescriber,
                evaluation,
                eligibility_route,
                f"Specialist clearance received ({rules}): benefit outweighs risk. Extra "
                "monitoring agreed; stop if symptoms recur.",
            )
        yield from self.treat(evaluation, protocol_id, prescriber)

    def choose_route(self, verdicts: dict[str, Any]) -> tuple[str, str] | None:
        """The protocol the prescriber plans, or None when the patient is not treated."""
        p = self.p
        if p.wants_esketamine and verdicts["intranasal_esketamine"]["verdict"] not in OVERRIDABLE:
            if p.indication == "mdd_with_suicidal_ideation":
                return "esketamine_mdd_si", "intranasal_esketamine"
            return "esketamine_trd", "intranasal_esketamine"
        racemic = "im_ketamine" if p.im else "iv_ketamine"
        verdict = verdicts[racemic]["verdict"]
        if verdict not in OVERRIDABLE or (verdict == "needs_clearance" and p.clears):
            return racemic, racemic
        return None

    def treat(self, evaluation: int, protocol_id: str, prescriber: Actor) -> Iterator[datetime]:
        sim, p, rng = self.sim, self.p, self.rng
        protocol = get_protocol(protocol_id)
        nurse = sim.staff.pick(Role.NURSE, rng)
        if protocol.weight_based:
            self.weigh(nurse, max_age_days=14)
        start = sim.clinic_day(self.sim.clock.today() + timedelta(days=rng.randint(2, 9)))
        if protocol_id == "iv_ketamine":
            titrated = rng.random() < sim.params.iv_titrated_start_share
            dose = Decimal("0.75") if titrated else Decimal("0.5")
            request = PlanRequest(protocol_id, dose, start, Decimal("10"), 40)
        elif protocol_id == "im_ketamine":
            # 10 mg/mL: at 50 mg/mL the syringe's 0.1 mL steps lose more than the policy's 5 %.
            request = PlanRequest(protocol_id, Decimal("0.5"), start, Decimal("10"))
        else:
            request = PlanRequest(protocol_id, Decimal(protocol.raw["first_dose_mg"]), start)
        # Consent before the plan is signed, as signing asks.
        kind = (
            ConsentRecord.Kind.TREATMENT_ESKETAMINE
            if protocol.drug == "esketamine"
            else ConsentRecord.Kind.TREATMENT_KETAMINE
        )
        self.ops.consent(nurse, self.patient, kind)
        if protocol.drug == "esketamine":
            self.ops.consent(nurse, self.patient, ConsentRecord.Kind.REMS_ENROLLMENT)
        plan = self.ops.plan(prescriber, evaluation, request)
        dates = {number: day for _, number, day in plan.sessions}
        route = protocol.route
        dose = Decimal(plan.dose_order["dose_mg"])
        units = self.units(route, dose)
        drug = protocol.drug
        for day in dates.values():
            sim.stock.book(day, drug, units)
        dosed = 0
        for planned_id, number, _ in plan.sessions:
            if p.dropout_after is not None and dosed >= p.dropout_after:
                for later in range(number, len(dates) + 1):
                    sim.stock.book(dates[later], drug, units, sign=-1)
                return  # stopped coming: no more sessions or questionnaires
            if rng.random() < sim.params.reschedule_rate:
                call = max(
                    at(office_day(dates[number] - timedelta(days=2)), rng.randint(9, 16)),
                    self.sim.clock() + timedelta(minutes=10),
                )
                if timezone.localdate(call) < dates[number]:
                    yield call
                    moved = self.reschedule(plan.pk, number, dates, protocol)
                    for old, new in moved.values():
                        sim.stock.book(old, drug, units, sign=-1)
                        sim.stock.book(new, drug, units)
            sim.stock.book(dates[number], drug, units, sign=-1)
            dose = self.titrated(plan, number, dose)
            dosed += yield from self.session_day(
                planned_id, number, dates[number], protocol, dose, plan, len(dates)
            )
        if self.first_dose is not None:
            yield from self.follow_up(dates[len(dates)])

    def titrated(self, plan: Plan, number: int, dose: Decimal) -> Decimal:
        """Esketamine TRD may go to 84 mg from session 2 (label); IV non-responders to
        0.75 mg/kg at session 4 (clinical-reference §3). The prescriber changes it."""
        params, rng = self.sim.params, self.rng
        if plan.protocol_id == "esketamine_trd" and number == 2:
            if rng.random() < params.esketamine_84_rate:
                return Decimal("84")
        elif (
            plan.protocol_id == "iv_ketamine"
            and number == 4
            and plan.prescribed_dose == Decimal("0.5")
            and self.p.outcome == "non_responder"
            and rng.random() < params.iv_titration_rate
        ):
            weight = Decimal(plan.dose_order["weight_used_kg"])
            return min(Decimal("120"), (weight * Decimal("0.75")).quantize(Decimal("0.1")))
        return dose

    def reschedule(
        self, plan_id: int, number: int, dates: dict[int, date], protocol: Protocol
    ) -> dict[int, tuple[date, date]]:
        """The patient phones: the session moves to the next day the protocol allows."""
        schedule = [dates[n] for n in sorted(dates)]
        for shift in range(1, 8):
            new = dates[number] + timedelta(days=shift)
            try:
                reschedule(schedule, number - 1, new, protocol, self.sim.clinic.weekdays)
            except ScheduleError:
                continue
            coordinator = self.sim.staff.pick(Role.COORDINATOR, self.rng)
            moved = self.ops.reschedule(coordinator, plan_id, number, new)
            for n, (_, moved_to) in moved.items():
                dates[n] = moved_to
            return moved
        return {}
