"""A plan = patient + protocol version + starting dose + schedule + eligibility, signed by a
prescriber; its sessions exist only once it is signed."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical.protocols.library import get_protocol
from ketacare.patients import actions as patient_actions
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.planning.signature import plan_intact
from tests.conftest import PASSWORD, actor
from tests.planning.conftest import as_prescriber, iv_request


def test_a_draft_plan_has_no_sessions(evaluation, prescriber, clinic):
    plan = actions.draft_plan(as_prescriber(prescriber, clinic), evaluation.pk, iv_request())
    assert plan.state == TreatmentPlan.State.DRAFT
    assert not PlannedSession.objects.exists()
    # 0.5 mg/kg × 61.5 kg = 30.75 mg → 0.6 mL of 50 mg/mL (rounded down) = 30 mg.
    assert plan.dose_order["dose_mg"] == "30.0"
    assert plan.dose_order["volume_ml"] == "0.6"
    assert plan.protocol_version == get_protocol("iv_ketamine").version


def test_signing_schedules_the_induction(plan):
    sessions = list(plan.sessions.all())
    assert len(sessions) == get_protocol("iv_ketamine").raw["induction"]["sessions"]
    assert [s.date.isoformat() for s in sessions] == plan.signed_schedule
    assert all(s.date.weekday() < 5 for s in sessions)
    assert plan_intact(TreatmentPlan.objects.get(pk=plan.pk))


def test_a_plan_needs_a_signed_evaluation(prescriber, clinic, patient):
    from tests.planning.conftest import CLEAR_ANSWERS

    who = as_prescriber(prescriber, clinic)
    draft = actions.start_evaluation(who, patient, CLEAR_ANSWERS, "")
    with pytest.raises(PlanningError, match="needs a signed evaluation"):
        actions.draft_plan(who, draft.pk, iv_request())


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"dose": Decimal("1.5")}, "starts at 0.5 mg/kg or 0.75 mg/kg or 1.0 mg/kg"),
        ({"vial_mg_per_ml": None}, "Choose the vial concentration"),
        ({"infusion_minutes": 25}, "Choose an infusion length of 40 or 60 minutes"),
        ({"start_date": date(2020, 1, 6)}, "in the past"),
        ({"protocol_id": "iv_ketamine_fast"}, "unknown protocol"),
        ({"vial_mg_per_ml": Decimal("25")}, "not a vial strength this clinic stocks"),
    ],
)
def test_a_refused_dose_or_date_writes_no_plan(changes, rule, evaluation, prescriber, clinic):
    with pytest.raises(PlanningError, match=rule):
        actions.draft_plan(as_prescriber(prescriber, clinic), evaluation.pk, iv_request(**changes))
    assert not TreatmentPlan.objects.exists()


def test_a_weight_older_than_the_limit_refuses_the_dose(evaluation, prescriber, clinic):
    with (
        time_machine.travel(timezone.now() + timedelta(days=31)),
        pytest.raises(PlanningError, match=r"31 days old.*Weigh the patient\.$"),
    ):
        actions.draft_plan(as_prescriber(prescriber, clinic), evaluation.pk, iv_request())


def test_a_new_weight_after_drafting_stops_the_signature(evaluation, prescriber, clinic, patient):
    who = as_prescriber(prescriber, clinic)
    draft = actions.draft_plan(who, evaluation.pk, iv_request())
    patient_actions.record_measurement(
        actor(prescriber, clinic), patient, timezone.localdate(), Decimal("80.0"), None
    )
    with pytest.raises(PlanningError, match="weight on record changed"):
        actions.sign_plan(who, draft.pk, PASSWORD)
    assert not PlannedSession.objects.exists()


def test_esketamine_is_planned_in_whole_devices(evaluation, prescriber, clinic):
    who = as_prescriber(prescriber, clinic)
    with pytest.raises(PlanningError, match="starts at 56 mg"):  # label: day 1 is 56 mg
        actions.draft_plan(
            who, evaluation.pk, iv_request(protocol_id="esketamine_trd", dose=Decimal("84"))
        )
    draft = actions.draft_plan(
        who, evaluation.pk, iv_request(protocol_id="esketamine_trd", dose=Decimal("56"))
    )
    plan = actions.sign_plan(who, draft.pk, PASSWORD)
    assert plan.dose_order["devices"] == 2
    assert plan.sessions.count() == 8


def test_the_esketamine_plan_page_shows_the_maintenance_phase(
    evaluation, prescriber, clinic, as_user
):
    who = as_prescriber(prescriber, clinic)
    draft = actions.draft_plan(
        who, evaluation.pk, iv_request(protocol_id="esketamine_trd", dose=Decimal("56"))
    )
    html = as_user(prescriber).get(reverse("plan-detail", args=[draft.pk])).content.decode()
    assert "weeks 5–8: weekly" in html and "from week 9: every 2 weeks or weekly" in html


def test_an_iv_plan_page_claims_no_maintenance(plan, prescriber, as_user):
    html = as_user(prescriber).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "After induction" not in html


def test_the_suicidal_ideation_schedule_needs_that_indication(evaluation, prescriber, clinic):
    with pytest.raises(PlanningError, match="indication “Major depression with suicidal ideation”"):
        actions.draft_plan(
            as_prescriber(prescriber, clinic),
            evaluation.pk,
            iv_request(protocol_id="esketamine_mdd_si", dose=Decimal("84")),
        )


def test_a_signed_plan_cannot_be_signed_again_or_changed(plan, prescriber, clinic):
    with pytest.raises(PlanningError, match="is signed, not a draft"):
        actions.sign_plan(as_prescriber(prescriber, clinic), plan.pk, PASSWORD)
    with (
        pytest.raises(DatabaseError, match="signed or discarded treatment plan cannot be changed"),
        transaction.atomic(),
    ):
        TreatmentPlan.objects.filter(pk=plan.pk).update(prescribed_dose=Decimal("1.0"))


def test_rescheduling_reflows_the_later_sessions(plan, coordinator, clinic):
    sessions = list(plan.sessions.all())
    second = sessions[1].date
    new_date = second + timedelta(days=7 - second.weekday())  # the next Monday
    moves = actions.reschedule_session(actor(coordinator, clinic), plan.pk, 2, new_date)
    dates = [s.date for s in plan.sessions.all()]
    assert dates[0] == sessions[0].date
    assert dates[1] == new_date
    assert all((b - a).days >= 2 for a, b in itertools.pairwise(dates))
    assert "session 2" in moves
    # The signed schedule is kept as signed; the digest still verifies.
    assert plan_intact(TreatmentPlan.objects.get(pk=plan.pk))


def test_a_session_cannot_move_onto_a_weekend(plan, coordinator, clinic):
    first = plan.sessions.get(number=1).date
    saturday = first + timedelta(days=(5 - first.weekday()) % 7 or 7)
    with pytest.raises(PlanningError, match="not a clinic day"):
        actions.reschedule_session(actor(coordinator, clinic), plan.pk, 1, saturday)


def test_the_plan_page_draws_the_predicted_curve(plan, nurse, as_user):
    html = as_user(nurse).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert '<svg class="pk-chart"' in html
    assert "<polygon" in html  # the 5–95 % band
    assert "published Cmax 185 ng/mL" in html
    assert "Zanos 2018" in html
    assert "Observe at least 70 minutes" in html  # 40 min infusion + 30 min after


def test_a_second_draft_under_one_evaluation_is_refused(evaluation, prescriber, clinic):
    who = as_prescriber(prescriber, clinic)
    actions.draft_plan(who, evaluation.pk, iv_request())
    with pytest.raises(PlanningError, match="already waits for signature"):
        actions.draft_plan(who, evaluation.pk, iv_request())
    assert TreatmentPlan.objects.count() == 1


def test_a_discarded_draft_makes_room_for_a_new_one(evaluation, prescriber, clinic):
    who = as_prescriber(prescriber, clinic)
    first = actions.draft_plan(who, evaluation.pk, iv_request())
    with pytest.raises(PlanningError, match="Write why"):
        actions.discard_plan(who, first.pk, " ")
    actions.discard_plan(who, first.pk, "Weight changed; re-drafting.")
    second = actions.draft_plan(who, evaluation.pk, iv_request(dose=Decimal("0.75")))
    assert second.pk != first.pk
    with pytest.raises(PlanningError, match="Only a draft plan"):
        actions.discard_plan(who, first.pk, "again")
    with pytest.raises(PlanningError, match="is draft discarded, not a draft"):
        actions.sign_plan(who, first.pk, PASSWORD)
    with pytest.raises(DatabaseError), transaction.atomic():
        TreatmentPlan.objects.filter(pk=first.pk).update(discard_reason="")


def test_the_pk_chart_uses_actual_weight_when_the_dose_used_adjusted_weight(
    prescriber, clinic, as_user
):
    from tests.conftest import make_patient
    from tests.planning.conftest import signed_evaluation

    heavy = make_patient(
        prescriber,
        clinic,
        weight_kg=Decimal("140.0"),
        height_cm=Decimal("170.0"),
        sex_at_birth="male",
    )
    evaluation = signed_evaluation(prescriber, clinic, heavy)
    who = as_prescriber(prescriber, clinic)
    draft = actions.draft_plan(
        who, evaluation.pk, iv_request(use_adjusted_weight=True, vial_mg_per_ml=Decimal("10"))
    )
    assert draft.dose_order["weight_basis"].startswith("adjusted body weight")
    assert draft.dose_order["actual_weight_kg"] == "140.0"
    html = as_user(prescriber).get(reverse("plan-detail", args=[draft.pk])).content.decode()
    assert "for 140.0 kg body weight" in html


def test_the_plan_page_warns_when_the_patient_is_outside_the_models_population(
    evaluation, prescriber, clinic, patient, nurse, as_user
):
    # Perez-Ruixo 2021 was fitted to 39-170 kg; its curve for 180 kg is an extrapolation.
    patient_actions.record_measurement(
        actor(prescriber, clinic), patient, timezone.localdate(), Decimal("180.0"), None
    )
    draft = actions.draft_plan(
        as_prescriber(prescriber, clinic),
        evaluation.pk,
        iv_request(protocol_id="esketamine_trd", dose=Decimal("56")),
    )
    html = as_user(nurse).get(reverse("plan-detail", args=[draft.pk])).content.decode()
    assert "data-pk-warning" in html
    assert "this patient weighs 180 kg: the curve is an extrapolation" in html


def test_an_adult_inside_the_models_population_sees_no_warning(plan, nurse, as_user):
    html = as_user(nurse).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert '<svg class="pk-chart"' in html
    assert "data-pk-warning" not in html
