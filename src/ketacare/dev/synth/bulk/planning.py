"""What ``planning.actions`` writes, through the actions' own builders (``write_<step>``):
the evaluation (started, completed, signed), eligibility overrides, the plan drafted and
signed in one sitting with its schedule, and rescheduling. What stays here is what the
actions would read from the database: the patient's weights and scores in memory, and the
clinic's rules, read once a run (they cannot change during it)."""

from datetime import date
from functools import cached_property
from typing import Any

from ketacare.actor import Actor
from ketacare.audit.chain import json_safe
from ketacare.clinical.eligibility import RuleSet
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.schedule import induction_schedule, reschedule
from ketacare.dev.synth.bulk.base import BulkBase, BulkPatient, as_stored
from ketacare.dev.synth.ops import Plan
from ketacare.planning.actions import checks, eligibility, evaluation, plan, schedule
from ketacare.planning.actions.plan import PlanRequest, order_dict
from ketacare.planning.models import Evaluation, PlannedSession, TreatmentPlan
from ketacare.planning.rule_policy import clinic_rules
from ketacare.planning.verdicts import route_status


class PlanningOps(BulkBase):
    """Evaluations, overrides, plans and schedules as rows (``planning.actions``)."""

    @cached_property
    def rules(self) -> RuleSet:
        """The clinic's eligibility rules, as the actions read them each time."""
        return clinic_rules(self.clinic)

    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int:
        patient = self.patients[patient_id]
        started = evaluation.write_start_evaluation(self.writes, actor, patient.model, answers, "")
        # As the actions read it back: JSON as the column returns it, no addenda or overrides.
        started.answers = json_safe(answers)
        # Its related rows as "prefetched" lists, which the actions' readers take as they are.
        related: dict[str, list[Any]] = {"addenda": [], "overrides": []}
        vars(started)["_prefetched_objects_cache"] = related
        patient.evaluations[started.pk] = {"model": started, "overrides": related["overrides"]}
        self.owners[("evaluation", started.pk)] = patient
        return started.pk

    def _evaluation(self, evaluation_id: int) -> tuple[BulkPatient, Evaluation]:
        patient = self.owners[("evaluation", evaluation_id)]
        return patient, patient.evaluations[evaluation_id]["model"]

    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None:
        patient, judged = self._evaluation(evaluation_id)
        verdicts, rules_version = evaluation.judge(
            judged.answers, patient.model, actor.today(), self.rules
        )
        day, _, weight, _ = patient.latest_measurement()
        baseline = evaluation.Baseline(
            weight, patient.height(), day, [patient.latest[i] for i in sorted(patient.latest)]
        )
        evaluation.write_complete_evaluation(
            self.writes, actor, judged, verdicts, rules_version, baseline
        )
        judged.verdicts = json_safe(verdicts)

    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]:
        checks.confirm_signature(actor, self.password, prompt=checks.EVALUATION_SIGNATURE)
        _, signed = self._evaluation(evaluation_id)
        # The verdicts are those completed: nothing in the run changes the rules or the answers.
        evaluation.write_sign_evaluation(self.writes, actor, signed, self.rules.version)
        return dict(signed.verdicts)

    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None:
        checks.confirm_signature(actor, self.password, prompt=checks.OVERRIDE_SIGNATURE)
        patient, judged = self._evaluation(evaluation_id)
        status = route_status(judged, route)
        override = eligibility.write_override_eligibility(
            self.writes, actor, judged, status, reason
        )
        patient.evaluations[evaluation_id]["overrides"].insert(0, override)  # newest first

    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> Plan:
        """``draft_plan`` then ``sign_plan``, as the prescriber does in one sitting."""
        checks.confirm_signature(actor, self.password, prompt=checks.PLAN_SIGNATURE)
        patient, judged = self._evaluation(evaluation_id)
        protocol = get_protocol(request.protocol_id)
        status = route_status(judged, protocol.eligibility_route)
        order = self._order(protocol, patient, request, actor.today())
        drafted = plan.write_draft_plan(
            self.writes, actor, judged, protocol, request, order, status
        )
        # The draft as signing reads it back: decimals as their columns store them.
        drafted.prescribed_dose = as_stored(request.dose, 2)
        if drafted.vial_mg_per_ml is not None:
            drafted.vial_mg_per_ml = as_stored(drafted.vial_mg_per_ml, 1)
        dates = induction_schedule(protocol, request.start_date, self.clinic.weekdays)
        planned = plan.write_sign_plan(self.writes, actor, drafted, dates, status)
        sessions = [(p.pk, p.number, p.date) for p in planned]
        # What the dosing days read of the plan; the evaluation is not needed any more.
        slim = TreatmentPlan(
            pk=drafted.pk,
            patient=patient.model,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            dose_order=order,
        )
        patient.plans[drafted.pk] = {
            "protocol": protocol,
            "model": slim,
            "sessions": {n: [planned_id, d] for planned_id, n, d in sessions},
        }
        patient.evaluations[evaluation_id].clear()
        for planned_id, n, _ in sessions:
            self.planned[planned_id] = (patient, drafted.pk, n)
        self.owners[("plan", drafted.pk)] = patient
        return Plan(drafted.pk, protocol.id, drafted.prescribed_dose, order, sessions)

    def _order(
        self, protocol: Protocol, patient: BulkPatient, request: PlanRequest, today: date
    ) -> dict[str, Any]:
        """``planning.actions.dose_order`` on the weights in memory."""
        day, _, weight, _ = patient.latest_measurement()
        measured = plan.Weight(weight, day, patient.height())
        order = plan.dose_for(protocol, request, today, measured, patient.model.sex_at_birth)
        return order_dict(order, weight)

    def _plan(self, plan_id: int) -> tuple[BulkPatient, dict[str, Any]]:
        patient = self.owners[("plan", plan_id)]
        return patient, patient.plans[plan_id]

    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]:
        _, planned = self._plan(plan_id)
        sessions = planned["sessions"]
        numbers = sorted(sessions)
        dates = reschedule(
            [sessions[n][1] for n in numbers],
            number - 1,
            new,
            planned["protocol"],
            self.clinic.weekdays,
        )
        models = [
            PlannedSession(pk=sessions[n][0], plan_id=plan_id, number=n, date=sessions[n][1])
            for n in numbers
        ]
        moved = {
            n: (sessions[n][1], moved_to)
            for n, moved_to in zip(numbers, dates, strict=True)
            if sessions[n][1] != moved_to
        }
        schedule.write_reschedule(self.writes, actor, planned["model"], models, dates)
        for session in models:
            sessions[session.number][1] = session.date
        return moved
