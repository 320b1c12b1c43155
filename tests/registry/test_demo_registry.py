"""The demo's registry clinic: a year of synthetic history, so the dashboard a newcomer opens
has a flow, rates with intervals, a durability curve with relapses, safety figures and a
trained (not withheld) prediction model; its director sees it all, its researcher sees it
de-identified; `ketacare demo` says where to go and as whom."""

import io
from datetime import date, timedelta
from functools import partial

import pytest
from django.core.management import call_command as run_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.audit.verify import verify_chain
from ketacare.clinical.outcomes.cohort import config as cohort_config
from ketacare.clinical.outcomes.prediction import config as prediction_config
from ketacare.clinical.outcomes.prediction.features import patient_features
from ketacare.clinical.outcomes.prediction.results import Model
from ketacare.inventory.chain import verify as verify_ledger
from ketacare.inventory.models import Registration
from ketacare.measures.actions import record_staff_response
from ketacare.patients.models import Patient
from ketacare.registry import report
from ketacare.registry.dataset import Cohort, load
from ketacare.web.demo_data import DEMO_PASSWORD, seed_demo
from ketacare.web.demo_registry import REGISTRY_CLINIC, REGISTRY_PATIENTS, seed_registry
from ketacare.web.management.commands import demo
from tests.conftest import actor
from tests.demo_fixtures import beside_the_server
from tests.registry.test_model_cache import fits  # noqa: F401 (fixture)

# A fixed last day, so that the figures do not move with the calendar. The demo's own end
# (today) varies the history a little; REGISTRY_PATIENTS leaves a margin for that.
END = date(2026, 12, 1)
DASHBOARD = reverse("registry-dashboard")


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """The registry demo as `ketacare demo` builds it (built once for the module, at its full
    size: the prediction panel depends on it), rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        accounts = seed_registry(end=END)
        yield Clinic.objects.get(name=REGISTRY_CLINIC), accounts
        transaction.set_rollback(True)


@pytest.fixture
def clinic(built, db):
    return built[0]


def signed_in(username: str) -> Client:
    client = Client()
    login = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
    assert login.status_code == 302, login.content.decode()
    return client


def test_the_registry_report_has_a_year_of_outcomes(clinic):
    result = report.build(Cohort(clinic.pk), deidentified=False)
    flow = {step.id: step.count for step in result.flow}
    assert flow["screened"] == REGISTRY_PATIENTS
    assert flow["started"] >= 100 and flow["completed_induction"] >= 100
    phq9 = next(r for r in result.rates if r.instrument_id == "phq9")
    for rate in (phq9.response, phq9.remission):
        assert rate is not None and rate.n >= 100
        assert rate.ci_lower < rate.rate < rate.ci_upper
    assert result.durability.events >= 20 and result.durability.censored > 0
    assert result.time_to_response.n and result.time_to_response.median_days
    assert result.safety.sessions > 1000 and result.safety.all_events.events
    assert result.safety.severe_hypertension_sessions.count
    assert result.misuse.patients == flow["started"]


def test_the_director_sees_the_dashboard_with_patients_and_prediction(clinic):
    client = signed_in("registry.director")
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="km-chart"' in html
    assert 'id="prediction"' in html and "Withheld:" not in html
    assert "Cross-validated AUC" in html
    # Trained with a margin over its minimum, so that another end day does not withhold it.
    model = response.context["model"]
    per_class = model.degrees_of_freedom * prediction_config.settings().events_per_feature
    assert min(model.responders, model.labelled - model.responders) >= per_class * 1.15
    assert response.context["predictions"]  # patients now in induction, with a probability
    assert reverse("registry-patients", args=["started"]) in html
    assert "De-identified view" not in html
    listing = client.get(reverse("registry-patients", args=["started"]))
    assert listing.status_code == 200 and listing.context["count"] >= 100
    someone = listing.context["patients"][0]
    assert someone.clinic_id == clinic.pk and someone.family_name in listing.content.decode()


def test_the_model_is_fitted_once_per_data_version(clinic, fits):  # noqa: F811
    """A second view of the same data fits nothing; a new outcome score fits it again."""
    client = signed_in("registry.director")
    first = client.get(DASHBOARD).context["model"]
    assert isinstance(first, Model) and len(fits) > prediction_config.settings().cv_folds
    fitted = len(fits)
    assert client.get(DASHBOARD).context["model"] == first
    assert len(fits) == fitted

    # A responder's PHQ-9 on the last day of the outcome window, far from a response: the
    # last score in the window decides, so the model now learns from one responder fewer.
    window_end = cohort_config.settings().outcome_window_days[1]
    data = load(Cohort(clinic.pk))
    f = patient_features(data.patients, data.scores, prediction_config.settings())
    responder = int(f.ids[(f.label == 1).nonzero()[0][0]])
    patients = data.patients.set_index("patient_id")
    last_dose = patients.loc[responder, "last_induction_dose_at"].to_pydatetime()
    director = User.objects.get(username="registry.director")
    record_staff_response(
        actor(director, clinic, Role.PRESCRIBER),
        Patient.objects.get(pk=responder),
        "phq9",
        [3, 3, 3, 3, 3, 3, 3, 3, 0],
        last_dose + timedelta(days=window_end, hours=23),
    )
    second = client.get(DASHBOARD).context["model"]
    assert len(fits) > fitted
    assert second.responders == first.responders - 1


def test_the_researcher_sees_it_de_identified(clinic):
    html = signed_in("registry.researcher").get(DASHBOARD).content.decode()
    assert "De-identified view" in html
    assert '<svg class="km-chart"' in html
    assert 'id="prediction"' not in html
    assert reverse("registry-patients", args=["started"]) not in html
    for patient in Patient.objects.filter(clinic=clinic)[:50]:
        assert patient.mrn not in html


def test_the_demo_logins_belong_to_the_synthetic_clinic_alone(built, db):
    clinic, accounts = built
    assert [(user, role) for user, role, _ in accounts] == [
        ("registry.director", "Prescriber"),
        ("registry.researcher", "Researcher"),
    ]
    for username, _, name in accounts:
        assert name == REGISTRY_CLINIC
        user = User.objects.get(username=username)
        assert list(user.memberships.values_list("clinic", flat=True)) == [clinic.pk]


def test_the_bulk_written_year_verifies(built, db):
    """The synthetic clinic is written by the bulk path: its audit events and ledger entries
    must chain as the actions' would (what `ketacare audit verify` checks after `demo`)."""
    clinic, _ = built
    verdict = verify_chain()
    assert verdict.ok, verdict.message
    registrations = Registration.objects.filter(clinic=clinic)
    assert registrations.exists()
    assert verify_ledger(registrations) == []


def test_seeding_again_adds_nothing(built, db):
    _, accounts = built
    counts = (Patient.objects.count(), User.objects.count(), Clinic.objects.count())
    assert seed_registry(end=END) == accounts
    assert (Patient.objects.count(), User.objects.count(), Clinic.objects.count()) == counts


def test_the_demo_command_says_where_the_registry_is_and_as_whom(built, db, monkeypatch, settings):
    settings.KETACARE_BASE_URL = "http://testserver"  # the command's change stays in the test
    called = []
    monkeypatch.setattr(demo, "call_command", lambda *args, **kwargs: called.append(args[0]))
    monkeypatch.setattr(demo, "worker_thread", beside_the_server(called))
    monkeypatch.setattr(demo, "seed_demo", partial(seed_demo, patient_count=6))
    out = io.StringIO()
    run_command(demo.Command(), port=8123, stdout=out)
    printed = out.getvalue()
    assert called == ["migrate", "collectstatic", "worker", "runserver"]
    assert "Building" not in printed  # already built: a second start adds nothing
    assert "http://127.0.0.1:8123/registry/" in printed
    for username in ("registry.director", "registry.researcher"):
        assert f"  {username} " in printed
    assert REGISTRY_CLINIC in printed and DEMO_PASSWORD in printed
