"""The esketamine REMS Patient Monitoring Form: filled from the session's records, printed and
exported as a PDF (both audited), listed with its 7-day deadline (overdue first), and
recorded as submitted with the portal's reference."""

import re
import zlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.clinical.session.rems import respiratory_adverse_events
from ketacare.planning import actions as planning
from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError
from ketacare.treatments.models import AdverseEvent, RemsSubmission, TreatmentSession
from ketacare.treatments.rems_actions import RemsError, record_rems_submission
from ketacare.treatments.rems_fill import monitoring_form
from ketacare.treatments.rems_pdf import latin1, monitoring_pdf
from tests.conftest import PASSWORD, actor, client_for
from tests.planning.conftest import as_prescriber, iv_request, signed_evaluation
from tests.treatments.conftest import HIGH_BP, NORMAL, READY, as_nurse, consent, supply

DASHBOARD = reverse("rems-dashboard")
PRE_DOSE = {**NORMAL, "systolic": 132, "diastolic": 84}
# Minutes after the first device → what the nurse records.
MONITORING = {
    20: {**NORMAL, "systolic": 150, "diastolic": 92, "moaas": 4, "cadss": 12},
    42: {**NORMAL, "systolic": 146, "diastolic": 90, "moaas": 5, "cadss": 3},
    121: {**NORMAL, "systolic": 128, "diastolic": 80, "moaas": 5, "cadss": 0},
}


def at(moment):
    return time_machine.travel(moment, tick=False)


def form_url(session, **query):
    url = reverse("rems-form", kwargs={"session_id": session.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def plan(prescriber, nurse, clinic, patient):
    """A signed esketamine 56 mg plan on an evaluation that records benzodiazepines."""
    evaluation = signed_evaluation(
        prescriber, clinic, patient, **{"medications.benzodiazepines": True}
    )
    who = as_prescriber(prescriber, clinic)
    request = iv_request(
        protocol_id="esketamine_trd", dose=Decimal("56"), start_date=timezone.localdate()
    )
    consent(as_nurse(nurse, clinic), patient, "treatment_esketamine")
    consent(as_nurse(nurse, clinic), patient, "rems_enrollment")
    return planning.sign_plan(who, planning.draft_plan(who, evaluation.pk, request).pk, PASSWORD)


def open_session(plan, nurse, clinic, number=1):
    planned = plan.sessions.get(number=number)
    return actions.open_session(as_nurse(nurse, clinic), planned.pk, "Chair 3")


def walk(
    session,
    nurse,
    clinic,
    stock,
    first_device,
    monitoring=MONITORING,
    discharge_after=125,
    transfer_to="",
):
    """Check-in, pre-dose vitals, two devices, the monitoring observations, discharge — on the
    day of ``first_device``, which the session is moved to (check-in needs its own day)."""
    day = timezone.localtime(first_device - timedelta(minutes=5)).date()
    TreatmentSession.objects.filter(pk=session.pk).update(date=day)
    who = as_nurse(nurse, clinic)
    with at(first_device - timedelta(minutes=5)):
        actions.check_in(who, session.pk, READY)
        actions.record_observation(who, session.pk, PRE_DOSE)
    with at(first_device):
        actions.start_dose(who, session.pk, supply(stock, "esketamine", units="2"))
    with at(first_device + timedelta(minutes=5)):
        actions.give_device(who, session.pk)
    for minutes, values in monitoring.items():
        with at(first_device + timedelta(minutes=minutes)):
            actions.record_observation(who, session.pk, values)
    with at(first_device + timedelta(minutes=discharge_after)):
        if transfer_to:
            return actions.transfer(
                who,
                session.pk,
                destination=transfer_to,
                reason="Chest pain.",
                decided_by_id=nurse.pk,
                password=PASSWORD,
            )
        return actions.discharge(
            who,
            session.pk,
            dissociation_resolved=True,
            responsible_adult_present=False,
            password=PASSWORD,
        )


@pytest.fixture
def first_device():
    """Three hours ago, or, in the small hours, just after midnight: the plan's first session
    is today's, and check-in happens on the session's own day."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time(0, 0)))
    earliest = midnight + timedelta(minutes=10)
    return max(timezone.now().replace(second=0, microsecond=0) - timedelta(hours=3), earliest)


@pytest.fixture
def discharged(plan, nurse, clinic, stock, first_device):
    return walk(open_session(plan, nurse, clinic), nurse, clinic, stock, first_device)


def pdf_content(pdf: bytes) -> bytes:
    """The PDF's streams, inflated where compressed."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            streams.append(match.group(1))
    return b"\n".join(streams)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def exports():
    return AuditEvent.objects.filter(action="export", object_type="treatmentsession")


# --- the form's content -----------------------------------------------------------------------


def test_the_form_holds_what_was_recorded(discharged, first_device, nurse, clinic):
    clinic.address, clinic.phone = "1 River Road\nSpringfield, IL 62701", "+1 217 555 0100"
    clinic.save()
    form = monitoring_form(discharged)
    assert (form.patient_name, form.date_of_birth, form.sex) == (
        "Ada Lovelace",
        date(1985, 12, 10),
        "Female",
    )
    assert dict(form.concomitant) == {
        "Benzodiazepines": True,
        "Non-benzodiazepine hypnotics": False,
        "Psychostimulants": False,
        "Monoamine oxidase inhibitors (MAOIs)": False,
        "Opioids": False,
    }
    # The nurse who monitored and discharged, not the prescriber who signed the plan.
    assert form.provider == nurse.get_full_name()
    assert form.setting == (
        "Riverside Ketamine Clinic, 1 River Road Springfield, IL 62701, tel. +1 217 555 0100"
    )
    assert form.treatment_date == timezone.localtime(first_device).date()
    assert form.deadline == form.treatment_date + timedelta(days=7)
    assert form.first_treatment is True
    assert form.dose == "56 mg"
    assert form.lot_number == "L-esk"
    assert form.total_minutes == 125
    # Ready at the end of the 120 minutes: the 42-minute reading met every other criterion.
    assert form.ready_minutes == 120
    assert form.vitals_ok_before_dosing is True
    assert form.vitals_ok_before_completion is True
    assert (form.bp_before_dosing.systolic, form.bp_before_dosing.diastolic) == (132, 84)
    assert form.bp_at_40_minutes.minutes_after_first_device == 42
    assert (form.bp_at_40_minutes.systolic, form.bp_at_40_minutes.diastolic) == (146, 90)
    assert (form.bp_before_completion.systolic, form.bp_before_completion.diastolic) == (128, 80)
    assert (form.sedation, form.lowest_moaas) == (True, 4)
    assert (form.dissociation, form.highest_cadss) == (True, 12)
    assert form.respiratory_depression is False
    assert form.pulse_oximetry is True
    assert form.serious_adverse_events == ()


def test_no_reading_near_40_minutes_is_not_recorded_and_a_later_session_is_not_the_first(
    plan, discharged, nurse, clinic, stock, first_device
):
    later = open_session(plan, nurse, clinic, number=2)
    # Readings at 25 and 55 minutes: both more than 10 minutes from 40. Discharge refuses
    # that; a transfer to emergency care does not wait, and still has its form.
    readings = {25: MONITORING[20], 55: MONITORING[42]}
    walk(
        later,
        nurse,
        clinic,
        stock,
        first_device + timedelta(minutes=150),
        readings,
        discharge_after=60,
        transfer_to="Springfield General emergency department",
    )
    form = monitoring_form(later)
    assert form.bp_at_40_minutes is None
    assert form.first_treatment is False
    assert form.total_minutes == 60 and form.ready_minutes is None
    lines = {line.label: line for s in form.sections() for line in s.lines}
    assert lines["Blood pressure at 40 minutes"].value == "Not recorded"
    assert lines["First treatment"].value == "No"
    ready = lines["Minutes until the patient would have been ready to leave"]
    assert ready.value == "Not recorded"
    assert "Transferred to Springfield General emergency department" in ready.note


def test_an_overridden_gate_a_desaturation_and_a_severe_event_are_on_the_form(
    plan, nurse, prescriber, clinic, stock, first_device
):
    session = open_session(plan, nurse, clinic)
    who, doctor = as_nurse(nurse, clinic), actor(prescriber, clinic, Role.PRESCRIBER)
    with at(first_device - timedelta(minutes=5)):
        actions.check_in(who, session.pk, READY)
        actions.record_observation(who, session.pk, HIGH_BP)
        actions.override_gate(doctor, session.pk, "Usual BP for her; benefit outweighs.", PASSWORD)
        actions.start_dose(who, session.pk, supply(stock, "esketamine", units="2"))
    with at(first_device):
        actions.give_device(who, session.pk)
    with at(first_device + timedelta(minutes=30)):
        low = {**NORMAL, "spo2": 88, "respiratory_rate": 8, "moaas": 3}
        actions.record_observation(who, session.pk, low)
        actions.record_adverse_event(
            who, session.pk, "desaturation", "severe", "SpO2 88 %", "Oxygen 2 L/min"
        )
        for alert in session.alerts.all():
            actions.acknowledge_alert(doctor, alert.pk, "Oxygen given; recovered.")
    with at(first_device + timedelta(minutes=121)):
        actions.record_observation(who, session.pk, {**NORMAL, "moaas": 5})
        actions.discharge(
            who,
            session.pk,
            dissociation_resolved=True,
            responsible_adult_present=False,
            password=PASSWORD,
        )
    form = monitoring_form(session)
    assert form.vitals_ok_before_dosing is False
    assert "Usual BP for her" in form.gate_note and prescriber.get_full_name() in form.gate_note
    assert (form.bp_before_dosing.systolic, form.bp_before_dosing.diastolic) == (152, 94)
    assert form.respiratory_depression is True
    assert "desaturation alert" in form.respiratory_findings
    assert "respiratory rate 8/min" in form.respiratory_findings[0]
    # Severe in intensity is not serious in the regulatory sense.
    assert form.serious_adverse_events == ()
    assert form.dissociation is None  # no CADSS was recorded
    lines = {line.label: line.value for s in form.sections() for line in s.lines}
    assert lines["Dissociation"] == "Not recorded"
    assert lines["Serious adverse events"] == "No"


def test_a_serious_adverse_event_is_one_that_meets_a_regulatory_criterion(
    plan, nurse, clinic, stock, first_device
):
    session = open_session(plan, nurse, clinic)
    who = as_nurse(nurse, clinic)
    monitoring = {42: MONITORING[42]}
    walk(
        session,
        nurse,
        clinic,
        stock,
        first_device,
        monitoring,
        discharge_after=50,
        transfer_to="Emergency department",
    )
    with pytest.raises(SessionError, match="it is transferred to emergency care"):
        actions.record_adverse_event(who, session.pk, "nausea", "mild")
    # Locked like a discharged session, in the database itself.
    with (
        pytest.raises(DatabaseError, match="transferred session cannot be changed"),
        transaction.atomic(),
    ):
        TreatmentSession.objects.filter(pk=session.pk).update(chair="Chair 9")
    second = open_session(plan, nurse, clinic, number=2)
    later = first_device + timedelta(minutes=200)
    TreatmentSession.objects.filter(pk=second.pk).update(date=timezone.localtime(later).date())
    with at(later - timedelta(minutes=5)):
        actions.check_in(who, second.pk, READY)
        actions.record_observation(who, second.pk, PRE_DOSE)
    with at(later):
        actions.start_dose(who, second.pk, supply(stock, "esketamine", units="2"))
        with pytest.raises(SessionError, match="Unknown seriousness criterion 'bad_day'"):
            actions.record_adverse_event(
                who, second.pk, "hypertension", "mild", serious_criteria=("bad_day",)
            )
        actions.record_adverse_event(
            who,
            second.pk,
            "hypertension",
            "mild",
            "Headache, 196/118",
            "Sent to the emergency department",
            serious_criteria=("hospitalisation", "important_medical_event"),
        )
        done = actions.transfer(
            who,
            second.pk,
            destination="Springfield General emergency department",
            reason="Hypertensive urgency with headache.",
            decided_by_id=nurse.pk,
            password=PASSWORD,
        )
    form = monitoring_form(done)
    assert form.serious_adverse_events == (
        f"Hypertension at {timezone.localtime(later):%H:%M} (inpatient hospitalisation or its "
        "prolongation, important medical event (may need treatment to prevent one of the "
        "above)): Headache, 196/118",
    )
    assert "SERIOUS: hospitalisation, important_medical_event" in done.note


def test_the_page_shows_the_form_and_says_where_ready_to_leave_comes_from(
    discharged, nurse, as_user
):
    response = as_user(nurse).get(form_url(discharged))
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("56 mg", "L-esk", "132/84 mmHg", "146/90 mmHg", "Benzodiazepines", "125"):
        assert text in page
    assert "first moment every discharge criterion about the patient" in page
    assert "Not submitted" in page
    assert AuditEvent.objects.filter(action="view", object_type="treatmentsession").exists()


# --- print and PDF ----------------------------------------------------------------------------


def test_the_printable_page_is_an_audited_export(discharged, nurse, as_user):
    response = as_user(nurse).get(form_url(discharged, format="print"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<body class="print">' in page
    assert "L-esk" in page and "146/90 mmHg" in page
    assert "<style" not in page and "style=" not in page and "<script" not in page
    event = exports().get()
    assert event.changes["format"] == "print"
    assert event.patient_id == discharged.patient_id


def test_the_pdf_holds_the_same_fields_and_is_an_audited_export(discharged, nurse, as_user):
    response = as_user(nurse).get(form_url(discharged, format="pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"%PDF")
    assert page_count(response.content) == 1
    content = pdf_content(response.content)
    for text in (b"L-esk", b"56 mg", b"132/84 mmHg", b"146/90 mmHg", b"Benzodiazepines"):
        assert text in content
    assert exports().get().changes["format"] == "pdf"


def test_the_uncompressed_pdf_shows_the_lot_number(discharged):
    pdf = monitoring_pdf(
        monitoring_form(discharged), printed_at=timezone.now(), printed_by="N", compress=False
    )
    assert pdf.startswith(b"%PDF")
    assert b"L-esk" in pdf


def test_characters_the_pdf_font_lacks_are_spelled_out_or_flagged():
    assert latin1("Łukasz Wałęsa ≤ 5") == ("Lukasz Walesa <= 5", False)
    assert latin1("Zoë") == ("Zoë", False)
    assert latin1("王芳") == ("??", True)


# --- the dashboard and the submission ---------------------------------------------------------


def test_the_dashboard_lists_overdue_forms_first(plan, nurse, clinic, stock, first_device):
    # Session 2 is dosed first, session 1 eight days later: order follows the deadline.
    second = open_session(plan, nurse, clinic, number=2)
    first = open_session(plan, nurse, clinic, number=1)
    walk(second, nurse, clinic, stock, first_device)
    walk(first, nurse, clinic, stock, first_device + timedelta(days=8))
    with at(first_device + timedelta(days=9)):
        response = client_for(nurse).get(DASHBOARD)
    rows = response.context["open_rows"]
    assert [r.session.pk for r in rows] == [second.pk, first.pk]
    assert rows[0].overdue and rows[0].days_overdue == 2
    assert not rows[1].overdue and rows[1].days_left == 6
    assert "Overdue" in response.content.decode()


def test_the_dashboard_makes_no_query_per_row(plan, nurse, clinic, stock, first_device):
    client = client_for(nurse)
    walk(open_session(plan, nurse, clinic, 1), nurse, clinic, stock, first_device)
    client.get(DASHBOARD)  # the first request of a login does its own set-up queries
    with CaptureQueriesContext(connection) as one:
        client.get(DASHBOARD)
    later = open_session(plan, nurse, clinic, 2)
    walk(later, nurse, clinic, stock, first_device + timedelta(minutes=150))
    record_rems_submission(as_nurse(nurse, clinic), later.pk, "R-1")
    with CaptureQueriesContext(connection) as two:
        client.get(DASHBOARD)
    assert len(two) == len(one)


def test_recording_the_submission_clears_it_from_the_due_list(discharged, clinic_admin, as_user):
    client = as_user(clinic_admin)
    assert [r.session.pk for r in client.get(DASHBOARD).context["open_rows"]] == [discharged.pk]
    response = client.post(form_url(discharged), {"reference": "  SPR-2026-000123 "})
    assert response.status_code == 302
    submission = RemsSubmission.objects.get(session=discharged)
    assert submission.reference == "SPR-2026-000123"
    assert submission.submitted_by == clinic_admin
    assert AuditEvent.objects.filter(action="create", object_type="remssubmission").exists()
    dashboard = client.get(DASHBOARD)
    assert dashboard.context["open_rows"] == []
    assert [r.session.pk for r in dashboard.context["submitted_rows"]] == [discharged.pk]
    assert "SPR-2026-000123" in dashboard.content.decode()
    # The page now shows the submission and no longer offers the form.
    page = client.get(form_url(discharged)).content.decode()
    assert "SPR-2026-000123" in page and "Record as submitted" not in page


def test_a_submission_needs_a_reference_and_is_recorded_once(discharged, nurse, clinic, as_user):
    response = as_user(nurse).post(form_url(discharged), {"reference": "   "})
    assert response.status_code == 200
    assert not RemsSubmission.objects.exists()
    who = as_nurse(nurse, clinic)
    with pytest.raises(RemsError, match="confirmation reference"):
        record_rems_submission(who, discharged.pk, " ")
    record_rems_submission(who, discharged.pk, "A-1")
    with pytest.raises(RemsError, match="already recorded"):
        record_rems_submission(who, discharged.pk, "A-2")
    assert RemsSubmission.objects.get().reference == "A-1"


def test_only_a_discharged_esketamine_session_has_a_form(session, plan, nurse, clinic, as_user):
    # ``session`` is an IV ketamine session; the esketamine one is only scheduled.
    client = as_user(nurse)
    for scheduled, message in [
        (session, "Only esketamine sessions"),
        (open_session(plan, nurse, clinic), "ready once the patient is discharged"),
    ]:
        for url in (form_url(scheduled), form_url(scheduled, format="pdf")):
            response = client.get(url, follow=True)
            assert response.redirect_chain == [(DASHBOARD, 302)]
            assert message in response.content.decode()
        assert client.post(form_url(scheduled), {"reference": "X"}).status_code == 302
        with pytest.raises(RemsError, match="Unknown session"):
            record_rems_submission(as_nurse(nurse, clinic), scheduled.pk, "X")
    assert not RemsSubmission.objects.exists()
    assert not exports().exists()


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["prescriber", "nurse", "clinic_admin"])
def test_prescribers_nurses_and_clinic_admins_open_the_forms(discharged, staff, role):
    client = client_for(staff[role])
    assert client.get(DASHBOARD).status_code == 200
    assert client.get(form_url(discharged)).status_code == 200


@pytest.mark.parametrize("role", ["coordinator", "researcher"])
def test_coordinators_and_researchers_may_not(discharged, staff, role):
    client = client_for(staff[role])
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(form_url(discharged)).status_code == 403
    assert client.get(form_url(discharged, format="pdf")).status_code == 403
    assert client.post(form_url(discharged), {"reference": "X"}).status_code == 403
    assert not RemsSubmission.objects.exists()
    assert not exports().exists()


def test_another_clinic_sees_nothing(discharged, outsider, as_user):
    client = as_user(outsider)
    assert client.get(DASHBOARD).context["open_rows"] == []
    for url in (form_url(discharged), form_url(discharged, format="pdf")):
        assert client.get(url).status_code == 404
    assert client.post(form_url(discharged), {"reference": "X"}).status_code == 404
    assert not RemsSubmission.objects.exists()


def test_the_adverse_events_counted_as_respiratory_depression_are_kinds_staff_record():
    kinds = respiratory_adverse_events()
    assert kinds and kinds <= set(AdverseEvent.Kind.values)
