"""A date outside ketacare's bounds stored before they were enforced (issue 13: one date of
birth of 0001-01-01 made every research export of the clinic fail) leaves its patient out of
the export and the registry's figures, counted in the README and the audit event; the export
and the dashboard still work for everyone else."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import Patient
from ketacare.registry.export import safe_harbor
from ketacare.treatments.models import TreatmentSession
from tests.registry.test_research_export import (  # noqa: F401 (fixture)
    KEY,
    download,
    hand_made_dataset,
    parquet,
    people,
    readme,
)

EARLY, LATE = date(1, 1, 1), date(9999, 12, 31)


def store(ada: Patient, where: str, day: date) -> None:
    """Write an out-of-range date into Ada's record as an old release could have: past the
    actions and their checks."""
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    if where == "date of birth":
        Patient.objects.filter(pk=ada.pk).update(date_of_birth=day)
    elif where == "score":
        QuestionnaireResponse.objects.filter(patient=ada).update(completed_at=moment)
    elif where == "session day":
        TreatmentSession.objects.filter(patient=ada).update(date=day)
    elif where == "dose time":
        TreatmentSession.objects.filter(patient=ada).update(dose_started_at=moment)


@pytest.mark.parametrize("day", [EARLY, LATE])
@pytest.mark.parametrize("where", ["date of birth", "score", "session day", "dose time"])
def test_the_patient_is_left_out_and_the_rest_exported(where, day, people, clinic_admin, as_user):  # noqa: F811
    store(people["ada"], where, day)
    client = as_user(clinic_admin)
    files = download(client)
    assert parquet(files, "patients").num_rows == 2  # Beatrix and Cyrus; Ada is left out whole
    assert safe_harbor.research_id(safe_harbor.installation_key(), people["ada"].pk) not in "".join(
        content.decode("latin-1") for content in files.values()
    )
    assert "Patients of the clinic left out so: 1." in readme(files)
    event = AuditEvent.objects.get(action="export", object_type="registry_export")
    assert event.changes["left_out_for_implausible_dates"] == 1
    assert client.get(reverse("registry-dashboard")).status_code == 200


def test_the_researcher_sees_the_count_as_a_small_cell(people, researcher, as_user):  # noqa: F811
    store(people["ada"], "date of birth", EARLY)
    files = download(as_user(researcher))
    assert "Patients of the clinic left out so: < 11." in readme(files)


def test_deidentify_leaves_out_a_patient_with_a_date_off_the_calendar():
    dataset = hand_made_dataset()
    # Year 1 is beyond pandas' nanosecond timestamps: the column holds it as an object.
    dataset.scores["completed_at"] = dataset.scores["completed_at"].astype(object)
    dataset.scores.loc[0, "completed_at"] = datetime(1, 1, 1, tzinfo=UTC)
    research = safe_harbor.deidentify(dataset, KEY)
    assert list(research.patients["research_id"]) == [safe_harbor.research_id(KEY, 8)]
    assert set(research.scores["research_id"]) == {safe_harbor.research_id(KEY, 8)}
    assert research.sessions.empty and research.adverse_events.empty
    assert research.implausible == 1
