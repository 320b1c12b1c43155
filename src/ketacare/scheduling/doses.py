"""Which plan a dosing appointment gives a dose of: its planned session's plan, or for a dose
outside the induction (maintenance) the patient's latest signed plan. The booking rules (its
protocol: the nurse's watch, the prescriber on site, the cadence) and the gates ask here, for
one appointment or for a whole book, so a dose is never judged under one plan and gated under
another."""

from collections.abc import Iterable

from ketacare.planning.models import TreatmentPlan
from ketacare.scheduling.models import Appointment


def latest_signed_plans(clinic_id: int, patient_ids: Iterable[int]) -> dict[int, TreatmentPlan]:
    """Each patient's latest signed plan at the clinic, by patient id: one query."""
    plans = TreatmentPlan.objects.filter(
        clinic_id=clinic_id, patient_id__in=set(patient_ids), state=TreatmentPlan.State.SIGNED
    ).order_by("patient_id", "-signed_at", "-pk")
    latest: dict[int, TreatmentPlan] = {}
    for plan in plans:
        latest.setdefault(plan.patient_id, plan)
    return latest


def dose_plan(appointment: Appointment) -> TreatmentPlan | None:
    """The plan of the dose ``appointment`` gives; None for any other appointment, or a
    patient without a signed plan."""
    if appointment.kind != Appointment.Kind.DOSING:
        return None
    if appointment.planned is not None:
        return appointment.planned.plan
    plans = latest_signed_plans(appointment.clinic_id, [appointment.patient_id])
    return plans.get(appointment.patient_id)
