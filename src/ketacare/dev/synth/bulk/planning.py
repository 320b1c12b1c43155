"""What ``planning.actions`` writes: the evaluation (started, completed, signed), eligibility
overrides, the plan drafted and signed in one sitting with its schedule, and rescheduling."""

from datetime import date
from typing import Any

from ketacare.accounts.access import Actor
from ketacare.audit.chain import json_safe
from ketacare.audit.record import Action, field_changes
from ketacare.clinical.eligibility import OVERRIDABLE
from ketacare.clinical.protocols import calculate_dose
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.schedule import induction_schedule, reschedule
from ketacare.dev.synth.bulk.base import BulkBase, BulkPatient, as_stored
from ketacare.dev.synth.ops import Plan
from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanRequest
from ketacare.planning.models import EligibilityOverride, Evaluation, PlannedSession, TreatmentPlan
from ketacare.planning.signature import evaluation_digest, plan_digest


class PlanningOps(BulkBase):
    """Evaluations, overrides, plans and schedules as rows (``planning.actions``)."""

    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int:
        assert actor.user is not None
        now = self.clock.at
        pk = self.w.insert(
            Evaluation,
            patient_id=patient_id,
            clinic_id=self.clinic.pk,
            answers=answers,
            notes="",
            created_by_id=actor.user.pk,
            created_at=now,
            updated_at=now,
        )
        self.patients[patient_id].evaluations[pk] = {"answers": json_safe(answers)}
        self.owners[("evaluation", pk)] = self.patients[patient_id]
        self.audit(
            actor,
            Action.CREATE,
            "evaluation",
            pk,
            patient_id,
            field_changes({}, {**answers, "notes": ""}),
        )
        return pk

    def _evaluation(self, evaluation_id: int) -> tuple[BulkPatient, dict[str, Any]]:
        patient = self.owners[("evaluation", evaluation_id)]
        return patient, patient.evaluations[evaluation_id]

    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None:
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        verdicts, rules_version = planning._judge(
            evaluation["answers"], patient.model, self.clock.today()
        )
        day, _, weight, _ = patient.latest_measurement()
        now = self.clock.at
        baseline = [patient.latest[i] for i in sorted(patient.latest)]
        evaluation.update(
            weight_kg=weight,
            height_cm=patient.height(),
            weight_measured_on=day,
            baseline_scores=baseline,
            verdicts=json_safe(verdicts),
            rules_version=rules_version,
        )
        self.w.update(
            Evaluation,
            evaluation_id,
            weight_kg=weight,
            height_cm=evaluation["height_cm"],
            weight_measured_on=day,
            baseline_scores=baseline,
            verdicts=evaluation["verdicts"],
            rules_version=rules_version,
            state=Evaluation.State.COMPLETED,
            completed_by_id=actor.user.pk,
            completed_at=now,
            updated_at=now,
        )
        self.audit(
            actor,
            Action.UPDATE,
            "evaluation",
            evaluation_id,
            patient.pk,
            {
                "state": {"old": Evaluation.State.IN_PROGRESS, "new": Evaluation.State.COMPLETED},
                "verdicts": {route: v["verdict"] for route, v in verdicts.items()},
            },
        )

    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]:
        planning.confirm_signature(actor, self.password, prompt=planning.EVALUATION_SIGNATURE)
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        _, rules_version = planning._judge(evaluation["answers"], patient.model, self.clock.today())
        now = self.clock.at
        signed = Evaluation(
            patient_id=patient.pk,
            answers=evaluation["answers"],
            notes="",
            weight_kg=evaluation["weight_kg"],
            height_cm=evaluation["height_cm"],
            weight_measured_on=evaluation["weight_measured_on"],
            baseline_scores=evaluation["baseline_scores"],
            verdicts=evaluation["verdicts"],
            rules_version=rules_version,
            signed_by_id=actor.user.pk,
            signed_at=now,
        )
        digest = evaluation_digest(signed)
        self.w.update(
            Evaluation,
            evaluation_id,
            rules_version=rules_version,
            state=Evaluation.State.SIGNED,
            signed_by_id=actor.user.pk,
            signed_at=now,
            digest=digest,
            updated_at=now,
        )
        evaluation["overrides"] = []
        self.audit(
            actor,
            Action.SIGN,
            "evaluation",
            evaluation_id,
            patient.pk,
            {
                "digest": digest,
                "verdicts": {r: v["verdict"] for r, v in evaluation["verdicts"].items()},
            },
        )
        return evaluation["verdicts"]

    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None:
        planning.confirm_signature(actor, self.password, prompt=planning.OVERRIDE_SIGNATURE)
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        verdict = evaluation["verdicts"][route]
        blocking = [f["id"] for f in verdict["fired"] if f["verdict"] in OVERRIDABLE]
        pk = self.w.insert(
            EligibilityOverride,
            evaluation_id=evaluation_id,
            route=route,
            original_verdict=verdict["verdict"],
            fired_rule_ids=blocking,
            reason=reason.strip(),
            prescriber_id=actor.user.pk,
            created_at=self.clock.at,
        )
        evaluation["overrides"].insert(0, (pk, route, set(blocking)))
        self.audit(
            actor,
            Action.OVERRIDE,
            "eligibilityoverride",
            pk,
            patient.pk,
            {
                "route": route,
                "original_verdict": verdict["verdict"],
                "rules": blocking,
                "reason": reason.strip(),
            },
        )

    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> Plan:
        """``draft_plan`` then ``sign_plan``, as the prescriber does in one sitting."""
        planning.confirm_signature(actor, self.password, prompt=planning.PLAN_SIGNATURE)
        assert actor.user is not None
        patient, evaluation = self._evaluation(evaluation_id)
        protocol = get_protocol(request.protocol_id)
        today = self.clock.today()
        verdict = evaluation["verdicts"][protocol.eligibility_route]
        blocking = {f["id"] for f in verdict["fired"] if f["verdict"] in OVERRIDABLE}
        override = None
        if blocking:
            override = next(
                (pk for pk, route, fired in evaluation["overrides"]
                 if route == protocol.eligibility_route and blocking <= fired),
                None,
            )  # fmt: skip
        order = self._order(protocol, patient, request, today)
        unit = "mg/kg" if protocol.weight_based else "mg"
        vial = request.vial_mg_per_ml if protocol.weight_based else None
        now = self.clock.at
        pk = self.w.insert(
            TreatmentPlan,
            patient_id=patient.pk,
            clinic_id=self.clinic.pk,
            evaluation_id=evaluation_id,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            prescribed_dose=request.dose,
            dose_unit=unit,
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=vial,
            infusion_minutes=order["infusion_minutes"],
            dose_order=order,
            start_date=request.start_date,
            eligibility=verdict,
            override_id=override,
            created_by_id=actor.user.pk,
            created_at=now,
        )
        self.audit(
            actor,
            Action.CREATE,
            "treatmentplan",
            pk,
            patient.pk,
            {
                "protocol": f"{protocol.id} {protocol.version}",
                "dose": f"{request.dose} {unit}",
                "dose_order": order,
                "start_date": request.start_date,
                "eligibility": verdict["verdict"],
                "override": override,
            },
        )
        dates = induction_schedule(protocol, request.start_date, self.clinic.weekdays)
        sessions = [
            (self.w.insert(PlannedSession, plan_id=pk, number=n, date=d), n, d)
            for n, d in enumerate(dates, start=1)
        ]
        schedule = [d.isoformat() for d in dates]
        signed = TreatmentPlan(
            patient_id=patient.pk,
            evaluation_id=evaluation_id,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            prescribed_dose=as_stored(request.dose, 2),
            dose_unit=unit,
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=None if vial is None else as_stored(vial, 1),
            infusion_minutes=order["infusion_minutes"],
            dose_order=order,
            start_date=request.start_date,
            signed_schedule=schedule,
            eligibility=verdict,
            override_id=override,
            signed_by_id=actor.user.pk,
            signed_at=now,
        )
        digest = plan_digest(signed)
        signed.pk = pk
        self.w.update(
            TreatmentPlan,
            pk,
            signed_schedule=schedule,
            state=TreatmentPlan.State.SIGNED,
            signed_by_id=actor.user.pk,
            signed_at=now,
            digest=digest,
        )
        # What the dosing days read of the plan; the evaluation is not needed any more.
        slim = TreatmentPlan(
            pk=pk, protocol_id=protocol.id, protocol_version=protocol.version, dose_order=order
        )
        patient.plans[pk] = {
            "protocol": protocol,
            "model": slim,
            "sessions": {n: [planned_id, d] for planned_id, n, d in sessions},
        }
        evaluation.clear()
        for planned_id, n, _ in sessions:
            self.planned[planned_id] = (patient, pk, n)
        self.owners[("plan", pk)] = patient
        self.audit(
            actor,
            Action.SIGN,
            "treatmentplan",
            pk,
            patient.pk,
            {"digest": digest, "sessions": schedule},
        )
        return Plan(pk, protocol.id, as_stored(request.dose, 2), order, sessions)

    def _order(
        self, protocol: Protocol, patient: BulkPatient, request: PlanRequest, today: date
    ) -> dict[str, Any]:
        """``planning.actions.dose_order`` and ``_order_dict`` on the weights in memory."""
        day, _, weight, _ = patient.latest_measurement()
        if protocol.weight_based:
            order = calculate_dose(
                protocol,
                mg_per_kg=request.dose,
                weight_kg=weight,
                weight_measured_on=day,
                today=today,
                height_cm=patient.height(),
                sex=patient.model.sex_at_birth,
                use_adjusted_weight=request.use_adjusted_weight,
                vial_mg_per_ml=request.vial_mg_per_ml,
                infusion_minutes=request.infusion_minutes,
            )
        else:
            order = calculate_dose(protocol, fixed_mg=request.dose)

        def text(value: Any) -> str | None:
            return None if value is None else str(value)

        return {
            "dose_mg": str(order.dose_mg),
            "actual_weight_kg": str(weight),
            "weight_used_kg": text(order.weight_used_kg),
            "weight_basis": order.weight_basis,
            "volume_ml": text(order.volume_ml),
            "vial_mg_per_ml": text(order.vial_mg_per_ml),
            "infusion_minutes": order.infusion_minutes,
            "rate_ml_per_h": text(order.rate_ml_per_h),
            "devices": order.devices,
        }

    def _plan(self, plan_id: int) -> tuple[BulkPatient, dict[str, Any]]:
        patient = self.owners[("plan", plan_id)]
        return patient, patient.plans[plan_id]

    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]:
        patient, plan = self._plan(plan_id)
        sessions = plan["sessions"]
        numbers = sorted(sessions)
        dates = reschedule(
            [sessions[n][1] for n in numbers],
            number - 1,
            new,
            plan["protocol"],
            self.clinic.weekdays,
        )
        moved: dict[int, tuple[date, date]] = {}
        changes = {}
        for n, moved_to in zip(numbers, dates, strict=True):
            planned_id, old = sessions[n]
            if old != moved_to:
                moved[n] = (old, moved_to)
                changes[f"session {n}"] = {"old": old, "new": moved_to}
                sessions[n][1] = moved_to
                self.w.update(PlannedSession, planned_id, date=moved_to)
        if changes:
            self.audit(actor, Action.UPDATE, "treatmentplan", plan_id, patient.pk, changes)
        return moved
