"""The synthetic clinic (``ketacare synth``): every invariant holds afterwards (the audit chain,
the ledger), it is the same for the same seed, its sessions keep the protocols' schedules, and
the rates it was given — severe hypertension, response, remission — come back out of the
registry's own rules. The bulk path writes, row for row, what the actions write."""

import io
import itertools
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.audit.models import AuditEvent
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.outcomes.cohort.response import response_remission
from ketacare.clinical.outcomes.trajectory import Measure, assess
from ketacare.clinical.protocols.library import get_protocol
from ketacare.clinical.protocols.monitoring import observation_minutes
from ketacare.clinical.protocols.schedule import induction_schedule
from ketacare.dev.synth import SynthError, SynthParams, synthesize
from ketacare.inventory.models import LedgerEntry
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import Patient
from ketacare.planning.models import TreatmentPlan
from ketacare.registry.dataset import Cohort, load
from ketacare.treatments.models import Observation, SessionAlert, TreatmentSession

# A fixed last day, so that the figures do not move with the calendar.
END = date(2026, 6, 1)
# Rates away from the defaults, so that recovering them means something.
PARAMS = SynthParams(
    patients=150,
    seed=11,
    months=9,
    end=END,
    clinic="Synthetic Test Clinic",
    response_rate=0.65,
    remission_rate=0.30,
    severe_hypertension_rate=0.04,
)
# Determinism is shown on a clinic of this size, which has every kind of row the fingerprint
# compares; the module's clinic is as large as its rates' tolerances need.
SMALL = {"patients": 12, "months": 3}


@pytest.fixture(scope="module")
def program(django_db_setup, django_db_blocker):
    """One synthetic clinic for the module's tests (bulk path), rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        synthesize(PARAMS, bulk=True)
        yield Clinic.objects.get(name=PARAMS.clinic)
        transaction.set_rollback(True)


def _fingerprint(clinic: Clinic) -> dict[str, object]:
    """What the clinic holds, without database ids."""
    return {
        "patients": list(
            Patient.objects.filter(clinic=clinic)
            .order_by("mrn")
            .values_list("mrn", "given_name", "family_name", "date_of_birth", "address")
        ),
        "responses": list(
            QuestionnaireResponse.objects.filter(patient__clinic=clinic)
            .order_by("completed_at", "patient__mrn", "instrument_id")
            .values_list("patient__mrn", "instrument_id", "answers", "total", "completed_at")
        ),
        "sessions": list(
            TreatmentSession.objects.filter(clinic=clinic)
            .order_by("patient__mrn", "planned__number")
            .values_list("patient__mrn", "planned__number", "date", "state", "dose_mg", "note")
        ),
        "observations": list(
            Observation.objects.filter(session__clinic=clinic)
            .order_by("taken_at", "session__patient__mrn")
            .values_list("taken_at", "systolic", "diastolic", "heart_rate", "moaas", "cadss")
        ),
        "ledger": list(
            LedgerEntry.objects.filter(registration__clinic=clinic)
            .order_by("sequence")
            .values_list("sequence", "kind", "lot__lot_number", "quantity_units", "occurred_at")
        ),
        "events": list(
            # Products are shared by clinics: made by the first run only.
            AuditEvent.objects.filter(clinic=clinic)
            .exclude(object_type="product")
            .order_by("pk")
            .values_list("occurred_at", "action", "object_type", "role")
        ),
    }


def _small(clinic: str, **changes) -> Clinic:
    """A small clinic by the module's rates (bulk path): enough to show where a run's
    randomness comes from, which needs no statistics."""
    params = SynthParams(**{**PARAMS.__dict__, **SMALL, "clinic": clinic, **changes})
    synthesize(params, bulk=True)
    return Clinic.objects.get(name=clinic)


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_clinic():
    first = _fingerprint(_small("Synthetic First"))
    twin = _fingerprint(_small("Synthetic Twin"))
    assert all(first.values()), first  # something of every kind to compare
    assert twin == first
    assert len(first["patients"]) == SMALL["patients"]


@pytest.mark.django_db
def test_another_seed_makes_another_clinic():
    first = _fingerprint(_small("Synthetic First"))
    other = _fingerprint(_small("Other", seed=PARAMS.seed + 1))
    assert other["patients"] != first["patients"]


@pytest.mark.django_db
def test_the_audit_chain_and_the_ledger_verify(program):
    call_command("audit", "verify")
    call_command("inventory", "verify")


@pytest.mark.django_db
def test_a_clinic_with_patients_is_refused(program):
    with pytest.raises(SynthError, match="already has patients"):
        synthesize(PARAMS, bulk=True)


@pytest.mark.django_db
def test_sessions_keep_the_protocols_schedules(program):
    plans = TreatmentPlan.objects.filter(clinic=program, state="signed")
    assert plans.count() > 100
    for plan in plans.prefetch_related("sessions"):
        protocol = get_protocol(plan.protocol_id)
        induction = protocol.raw["induction"]
        signed = induction_schedule(protocol, plan.start_date, program.weekdays)
        assert plan.signed_schedule == [d.isoformat() for d in signed]
        dates = [s.date for s in plan.sessions.all()]  # after any rescheduling
        assert len(dates) == induction["sessions"]
        assert all(d.weekday() in program.weekdays for d in dates)
        gaps = [(b - a).days for a, b in itertools.pairwise(dates)]
        assert min(gaps) >= induction["min_interval_days"]
        weeks = [d.isocalendar()[:2] for d in dates]
        assert max(weeks.count(w) for w in weeks) <= induction["per_week"]
    sessions = TreatmentSession.objects.filter(clinic=program).select_related("planned", "plan")
    for session in sessions:
        assert session.date == session.planned.date
        if session.state == TreatmentSession.State.DISCHARGED:
            assert timezone.localtime(session.dose_started_at).date() == session.date
            protocol = get_protocol(session.plan.protocol_id)
            minimum = observation_minutes(protocol, session.plan.infusion_minutes or 0)
            assert session.discharged_at - session.dose_started_at >= timedelta(minutes=minimum)


@pytest.mark.django_db
def test_severe_hypertension_comes_near_its_rate_and_is_acknowledged(program):
    data = load(Cohort(clinic_id=program.pk))
    rate = data.sessions["severe_hypertension"].mean()
    assert len(data.sessions) > 600
    assert abs(rate - PARAMS.severe_hypertension_rate) < 0.02
    alerts = SessionAlert.objects.filter(session__clinic=program, check_id="severe_hypertension")
    assert alerts.exists()
    assert not alerts.filter(acknowledged_by__isnull=True).exists()


def _completers(clinic: Clinic):
    """Patients who finished induction and whose outcome window (31 days) has passed."""
    data = load(Cohort(clinic_id=clinic.pk))
    end = timezone.make_aware(timezone.datetime.combine(END, timezone.datetime.min.time()))
    done = data.patients[data.patients["completed_induction"]]
    done = done[done["last_induction_dose_at"] + timedelta(days=31) < end]
    return data, done


@pytest.mark.django_db
def test_response_and_remission_come_back_by_the_outcome_rules(program):
    data, done = _completers(program)
    phq9 = get_instrument("phq9")
    scores = data.scores[data.scores["instrument_id"] == "phq9"]
    responded = remitted = analysed = 0
    for patient in done.itertuples():
        until = patient.last_induction_dose_at + timedelta(days=31)
        mine = scores[
            (scores["patient_id"] == patient.patient_id) & (scores["completed_at"] <= until)
        ]
        measures = [Measure(row.completed_at, row.total) for row in mine.itertuples()]
        result = assess(phq9, measures, patient.first_dose_at)
        if result.get("response") is None:
            continue
        analysed += 1
        responded += result.get("response").met
        remitted += result.get("remission").met
    assert analysed > 70
    assert abs(responded / analysed - PARAMS.response_rate) < 0.12
    assert abs(remitted / analysed - PARAMS.remission_rate) < 0.12
    # The registry's cohort figure (14-31 days after induction, McInnes) agrees.
    rates = response_remission(data.patients, data.scores, completed_only=True)
    assert abs(rates.response.rate - PARAMS.response_rate) < 0.12


@pytest.mark.django_db
def test_relapse_comes_back_by_the_relapse_rule(program):
    data, done = _completers(program)
    phq9 = get_instrument("phq9")
    scores = data.scores[data.scores["instrument_id"] == "phq9"]
    end = timezone.make_aware(timezone.datetime.combine(END, timezone.datetime.min.time()))
    # Followed to the end: the outcome window, the follow-up weeks and four more.
    followed = timedelta(days=31 + 7 * PARAMS.follow_up_weeks + 28 + 3)
    relapsed = responders = 0
    for patient in done[done["last_induction_dose_at"] + followed < end].itertuples():
        mine = scores[scores["patient_id"] == patient.patient_id]
        measures = [Measure(row.completed_at, row.total) for row in mine.itertuples()]
        until = patient.last_induction_dose_at + timedelta(days=31)
        at_outcome = assess(
            phq9, [m for m in measures if m.taken_at <= until], patient.first_dose_at
        )
        if at_outcome.get("response") is None or not at_outcome.get("response").met:
            continue
        responders += 1
        relapsed += assess(phq9, measures, patient.first_dose_at).get("relapse").met
    assert responders > 30
    assert abs(relapsed / responders - PARAMS.relapse_rate) < 0.15


@pytest.mark.django_db
def test_patients_have_demographics_and_indications(program):
    data = load(Cohort(clinic_id=program.pk))
    patients = data.patients
    assert Patient.objects.filter(clinic=program).count() == PARAMS.patients
    assert patients["zip"].str.fullmatch(r"\d{5}").all()
    assert set(patients["sex"]) <= {"female", "male", "intersex"}
    assert patients["age_years"].between(18, 81).all()
    indications = patients["indication"].value_counts(normalize=True)
    assert indications["trd"] > 0.5
    assert {"mdd_with_suicidal_ideation", "anxiety", "ptsd"} <= set(indications.index)
    assert (~patients["eligible"]).any()  # some are not treated: excluded or not cleared
    assert set(data.sessions["route"]) >= {"iv_ketamine", "intranasal_esketamine"}


@pytest.mark.django_db
def test_the_command_fills_a_clinic_through_the_actions():
    out = io.StringIO()
    call_command(
        "synth",
        "--patients=3",
        "--seed=3",
        "--months=2",
        f"--end={END.isoformat()}",
        "--clinic=Command Clinic",
        "--no-progress",
        stdout=out,
    )
    assert "3 patients" in out.getvalue()
    assert "(actions)" in out.getvalue()
    assert Patient.objects.filter(clinic__name="Command Clinic").count() == 3
    call_command("audit", "verify", stdout=io.StringIO())
    call_command("inventory", "verify", stdout=io.StringIO())


def _tables() -> dict[str, list[dict[str, object]]]:
    """Every row of every table; random or wall-clock fields left out."""
    skip = {"accounts.User": {"password", "date_joined", "last_login"}}
    skip["measures.PatientLink"] = {"public_id"}
    dump = {}
    for model in apps.get_models():
        rows = list(model._base_manager.order_by("pk").values())
        for row in rows:
            for name in skip.get(model._meta.label, ()):
                row.pop(name)
        dump[model._meta.label] = rows
    return dump


def _restart_ids() -> None:
    """Start every table's ids after its highest row, as SQLite does by itself: PostgreSQL's
    sequences are not rolled back, so the second run would otherwise get other ids."""
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _run_and_dump(params: SynthParams, bulk: bool, verify: bool = False, writer: str = "auto"):
    _restart_ids()
    with transaction.atomic():
        synthesize(params, bulk=bulk, writer=writer)
        if verify:
            call_command("audit", "verify")
            call_command("inventory", "verify")
        dump = _tables()
        transaction.set_rollback(True)
    return dump


# A few patients to whom the rare things happen often (alerts, clearances, no-shows,
# rescheduling, dropping out, a positive rescreen, esketamine), so that both paths take every
# branch.
EVENTFUL = SynthParams(
    patients=8,
    seed=5,
    months=4,
    end=END,
    clinic="Twin Clinic",
    severe_hypertension_rate=0.1,
    no_show_rate=0.1,
    reschedule_rate=0.15,
    dropout_rate=0.2,
    psychosis_rate=0.15,
    vascular_rate=0.15,
    substance_use_rate=0.15,
    rescreen_positive_rate=0.3,
    tachycardia_rate=0.05,
    desaturation_rate=0.05,
    esketamine_share=0.5,  # esketamine sessions are reported to REMS
)
# Every table a run writes to (as a 25-patient run with the default rates does).
WRITTEN = {
    "accounts.Clinic",
    "accounts.User",
    "accounts.Membership",
    "audit.AuditEvent",
    "audit.ChainHead",
    "patients.Patient",
    "patients.BodyMeasurement",
    "patients.ConsentRecord",
    "measures.PatientLink",
    "measures.QuestionnaireResponse",
    "measures.SafetyAlert",
    "planning.Evaluation",
    "planning.TreatmentPlan",
    "planning.PlannedSession",
    "inventory.Registration",
    "inventory.Location",
    "inventory.Product",
    "inventory.Lot",
    "inventory.LedgerEntry",
    "inventory.StockBalance",
    "inventory.PhysicalCount",
    "inventory.CountLine",
    "treatments.TreatmentSession",
    "treatments.Observation",
    "treatments.DoseStep",
    "treatments.SessionAlert",
    "treatments.AdverseEvent",
    "treatments.RemsSubmission",
}


@pytest.mark.django_db
def test_the_bulk_path_writes_what_the_actions_write():
    by_actions = _run_and_dump(EVENTFUL, bulk=False, verify=True)
    assert {label for label, rows in by_actions.items() if rows} >= WRITTEN
    # The writer in this process, and the messages a writer process would be sent.
    for writer in ("local", "loopback"):
        in_bulk = _run_and_dump(EVENTFUL, bulk=True, writer=writer)
        for label, rows in by_actions.items():
            assert in_bulk[label] == rows, (writer, label)
    assert len(by_actions["audit.AuditEvent"]) > 400


@pytest.mark.django_db
def test_both_paths_sign_as_staff_do(monkeypatch):
    """Every signature of the run, on either path, is checked by accounts.reauth: the same
    prompts, as often."""
    from collections import Counter

    from ketacare.accounts import reauth

    asked: Counter[str] = Counter()
    build = reauth.prompt_request

    def counted(actor, prompt, kind="signature prompt"):
        asked[prompt] += 1
        return build(actor, prompt, kind)

    monkeypatch.setattr(reauth, "prompt_request", counted)
    params = SynthParams(patients=4, seed=3, months=2, end=END, clinic="Signing Clinic")
    counts = []
    for bulk in (False, True):
        asked.clear()
        _run_and_dump(params, bulk=bulk, writer="local")
        counts.append(dict(asked))
    by_actions, in_bulk = counts
    assert in_bulk == by_actions
    for prompt in ("evaluation signature", "plan signature", "waste witness"):
        assert by_actions.get(prompt, 0) > 0, by_actions
    assert by_actions.get("discharge signature", 0) > 0, by_actions


@pytest.mark.django_db
def test_synth_says_it_cannot_sign_where_2fa_is_required(settings):
    settings.KETACARE_REQUIRE_2FA = True
    with pytest.raises(SynthError, match="no authenticator app"):
        synthesize(SynthParams(patients=2, seed=1, months=1, end=END, clinic="2FA Clinic"))
    assert not Clinic.objects.filter(name="2FA Clinic").exists()
