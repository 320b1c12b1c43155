"""Answer sets and form data shared by the measures tests."""

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.actions import create_staff
from ketacare.accounts.permissions import Role
from ketacare.actor import SYSTEM
from ketacare.measures import actions, links
from ketacare.measures.models import PatientLink
from ketacare.patients.actions import record_consent
from ketacare.patients.models import ConsentRecord
from tests.conftest import PASSWORD, actor

# PHQ-9: total 8 (mild), item 9 ("better off dead ...") answered 0.
PHQ9_NO_RISK = [1, 1, 1, 1, 1, 1, 1, 1, 0]
# PHQ-9: total 17 (moderately severe), item 9 answered "several days".
PHQ9_ITEM9 = [2, 2, 2, 2, 2, 2, 2, 2, 1]
# MADRS: ten clinician-rated items 0-6; total 30 (moderate).
MADRS_30 = [3] * 10


def form_data(answers, **extra) -> dict[str, str]:
    """Answers as the questionnaire form posts them: item_1 ... item_N."""
    data = {f"item_{n}": str(value) for n, value in enumerate(answers, start=1)}
    data.update({k: str(v) for k, v in extra.items()})
    return data


def staff_form_data(answers, completed_at: datetime | None = None, **extra) -> dict[str, str]:
    """The staff entry form: answers and when the questionnaire was completed."""
    when = completed_at or timezone.localtime() - timedelta(hours=1)
    return form_data(answers, completed_at=when.strftime("%Y-%m-%dT%H:%M"), **extra)


def make_link(user, patient, instrument_id: str = "phq9") -> tuple[PatientLink, str]:
    """A link shown in clinic (nothing sent) and the public URL path that opens it."""
    link, _ = actions.create_link(
        actor(user, patient.clinic, Role.COORDINATOR), patient, instrument_id, "in_clinic"
    )
    return link, link_path(link)


def link_path(link: PatientLink) -> str:
    return reverse("patient-link", args=[links.token_for(link.public_id)])


def token_of(link: PatientLink) -> str:
    return links.token_for(link.public_id)


def another_prescriber(clinic, username: str, email: str = ""):
    """One more prescriber at ``clinic`` besides the fixture's."""
    return create_staff(
        SYSTEM,
        clinic=clinic,
        username=username,
        password=PASSWORD,
        role=Role.PRESCRIBER,
        first_name="Other",
        last_name="Prescriber",
        email=email,
    )


def contact_consent(user, patient, decision: str = "granted", signed_at: datetime | None = None):
    """The patient's consent (or its withdrawal) to questionnaires by text/email link."""
    return record_consent(
        actor(user, patient.clinic),
        patient,
        {
            "kind": ConsentRecord.Kind.MEASUREMENT_LINKS,
            "decision": decision,
            "version": "2026-01",
            "signed_at": signed_at or timezone.now() - timedelta(minutes=5),
            "signed_by": patient.full_name,
        },
    )
