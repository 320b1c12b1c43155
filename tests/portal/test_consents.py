"""Signing a consent in the portal: it grants the consent every gate reads, keeps the exact
text and its digest, is audited, refuses a stale text, an empty name or no agreement (writing
nothing), signs once per version, and shows staff what was signed, at their clinic only."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ketacare.actor import Actor
from ketacare.audit.models import AuditEvent
from ketacare.patients.consent import consent_problem
from ketacare.patients.models import ConsentRecord
from ketacare.portal import consent_documents
from ketacare.portal.consent_actions import sign_consent
from ketacare.portal.consent_documents import text_digest
from ketacare.portal.models import SignedConsent
from ketacare.refusals import ActionRefused
from tests.conftest import client_for, make_patient
from tests.planning.conftest import as_prescriber, give_consent, iv_request, signed_evaluation
from tests.portal.conftest import signed_in_client

pytestmark = pytest.mark.django_db

KETAMINE = "treatment_ketamine"


def _form(kind=KETAMINE, language="en", **changes):
    document = consent_documents.document(kind, language)
    assert document is not None
    data = {
        "version": document.version,
        "sha256": document.sha256,
        "language": language,
        "agree": "yes",
        "typed_name": "Ada Lovelace",
    }
    data.update(changes)
    return data


def _sign(client, kind=KETAMINE, **changes):
    return client.post(reverse("portal-consent", args=[kind]), _form(kind, **changes))


def test_every_document_is_written_in_english_and_spanish_for_every_kind():
    assert set(consent_documents.kinds()) == set(ConsentRecord.Kind.values)
    for kind in consent_documents.kinds():
        for language in ("en", "es"):
            document = consent_documents.document(kind, language)
            assert document is not None and document.title and len(document.paragraphs) >= 2


def test_the_rems_document_records_agreement_and_does_not_pretend_to_enrol():
    text = consent_documents.document("rems_enrollment", "en").text  # type: ignore[union-attr]
    assert "does not send anything to the REMS" in text
    assert "The clinic enrols you in the SPRAVATO REMS" in text
    assert "at least 2 hours" in text and "until the next day after a restful sleep" in text


def test_signing_grants_the_consent_and_keeps_the_exact_text(portal_client, portal_patient):
    assert consent_problem(portal_patient, KETAMINE) is not None
    page = portal_client.get(reverse("portal-consent", args=[KETAMINE]))
    document = consent_documents.document(KETAMINE, "en")
    assert document is not None
    assert document.paragraphs[0] in page.content.decode()
    response = _sign(portal_client)
    assert response.status_code == 302 and response["Location"] == reverse("portal-consents")

    assert consent_problem(portal_patient, KETAMINE) is None
    consent = ConsentRecord.objects.get(patient=portal_patient, kind=KETAMINE)
    assert consent.version == document.version
    assert consent.signed_by == "Ada Lovelace (signed in the patient portal)"
    assert consent.recorded_by is None
    signed = SignedConsent.objects.get(consent=consent)
    assert signed.text == document.text and signed.title == document.title
    assert signed.text_sha256 == text_digest(signed.text) == document.sha256
    assert signed.typed_name == "Ada Lovelace" and signed.language == "en"
    assert signed.signed_at == consent.signed_at
    events = AuditEvent.objects.filter(patient_id=portal_patient.pk, role="patient")
    assert {"create", "sign"} <= set(events.values_list("action", flat=True))
    sign = events.get(action="sign")
    assert sign.changes["text_sha256"] == document.sha256
    # No longer to sign: the list says signed, home does not offer it.
    assert "Signed on" in portal_client.get(reverse("portal-consents")).content.decode()
    home = portal_client.get(reverse("portal-home"))
    assert KETAMINE not in [d.kind for d in home.context["overview"].consents]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": "2001-01-01"}, "The text changed while you were reading"),
        ({"sha256": "0" * 64}, "The text changed while you were reading"),
        ({"typed_name": "   "}, "Please type your full name"),
        ({"agree": ""}, "I have read this and agree"),
    ],
)
def test_a_stale_text_an_empty_name_or_no_agreement_writes_nothing(
    portal_client, portal_patient, changes, message
):
    response = _sign(portal_client, **changes)
    assert response.status_code == 409
    assert message in response.content.decode()
    assert not ConsentRecord.objects.filter(patient=portal_patient).exists()
    assert not SignedConsent.objects.exists()
    assert not AuditEvent.objects.filter(patient_id=portal_patient.pk, action="sign").exists()


def test_a_double_submit_signs_once(portal_client, portal_patient):
    assert _sign(portal_client).status_code == 302
    assert _sign(portal_client).status_code == 302
    assert ConsentRecord.objects.filter(patient=portal_patient, kind=KETAMINE).count() == 1
    assert SignedConsent.objects.count() == 1
    assert AuditEvent.objects.filter(patient_id=portal_patient.pk, action="sign").count() == 1


def test_a_withdrawn_or_older_consent_is_to_sign_again(portal_patient, nurse, clinic):
    give_consent(nurse, clinic, portal_patient, KETAMINE)  # version "2026-1": another form
    status = {s.document.kind: s.state for s in consent_documents.statuses(portal_patient)}
    assert status[KETAMINE] == "older"
    give_consent(nurse, clinic, portal_patient, KETAMINE, decision="withdrawn")
    portal_patient.refresh_from_db()
    status = {s.document.kind: s.state for s in consent_documents.statuses(portal_patient)}
    assert status[KETAMINE] == "withdrawn"


def test_the_esketamine_documents_are_shown_only_when_esketamine_is_in_question(
    portal_patient, prescriber, clinic
):
    from ketacare.planning import actions as planning

    assert "rems_enrollment" not in consent_documents.shown_kinds(portal_patient)
    evaluation = signed_evaluation(prescriber, clinic, portal_patient)
    planning.draft_plan(
        as_prescriber(prescriber, clinic),
        evaluation.pk,
        iv_request(protocol_id="esketamine_trd", dose=Decimal("56")),
    )
    shown = consent_documents.shown_kinds(portal_patient)
    assert {"rems_enrollment", "treatment_esketamine"} <= set(shown)
    # Not shown, so not signed: a patient without esketamine in question cannot sign it.
    other = make_patient(prescriber, clinic, given_name="Mary", family_name="Somerville")
    who = Actor(user=None, role="patient", clinic=clinic, ip="127.0.0.1")
    document = consent_documents.document("rems_enrollment", "en")
    assert document is not None
    with pytest.raises(ActionRefused):
        sign_consent(
            who,
            other,
            "rems_enrollment",
            document.version,
            document.sha256,
            "en",
            "Mary S",
            agreed=True,
        )


def test_a_spanish_signing_keeps_the_spanish_text(portal_client, portal_patient):
    portal_client.post(reverse("portal-language"), {"language": "es", "next": "/portal/"})
    page = portal_client.get(reverse("portal-consent", args=[KETAMINE]))
    spanish = consent_documents.document(KETAMINE, "es")
    assert spanish is not None and spanish.paragraphs[0] in page.content.decode()
    assert _sign(portal_client, language="es", typed_name="Ada Lovelace").status_code == 302
    signed = SignedConsent.objects.get()
    assert signed.language == "es" and signed.text == spanish.text
    assert signed.text_sha256 == spanish.sha256 != consent_documents.document(KETAMINE, "en").sha256  # type: ignore[union-attr]


def test_the_session_decides_whose_consent_is_signed(
    portal_client, portal_patient, clinic, other_clinic, nurse, outsider
):
    # Another clinic's patient signs for themselves only.
    grace = make_patient(outsider, other_clinic, given_name="Grace", email="grace@example.org")
    theirs = signed_in_client(other_clinic, "grace@example.org")
    assert _sign(theirs, typed_name="Grace Hopper").status_code == 302
    assert consent_problem(grace, KETAMINE) is None
    assert consent_problem(portal_patient, KETAMINE) is not None
    page = theirs.get(reverse("portal-consents")).content.decode()
    assert portal_patient.given_name not in page
    # Staff and strangers are sent to the portal's sign-in.
    for client in (client_for(nurse), Client()):
        for response in (client.get(reverse("portal-consents")), _sign(client)):
            assert response.status_code == 302 and response["Location"].startswith("/portal/")
    assert ConsentRecord.objects.filter(patient=portal_patient).count() == 0


def test_staff_see_the_exact_text_signed_at_their_clinic_only(
    portal_client, portal_patient, nurse, outsider, django_assert_max_num_queries
):
    _sign(portal_client)
    consent = ConsentRecord.objects.get(patient=portal_patient)
    signed = SignedConsent.objects.get()
    chart = client_for(nurse).get(reverse("patient-chart", args=[portal_patient.pk]))
    detail_url = reverse("consent-detail", args=[portal_patient.pk, consent.pk])
    html = chart.content.decode()
    assert "signed in the portal" in html and detail_url in html
    page = client_for(nurse).get(detail_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert signed.text_sha256 in html and "matches the text kept" in html
    assert "Ada Lovelace" in html
    assert consent_documents.document(KETAMINE, "en").paragraphs[1] in html  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(
        action="view", object_type="consentrecord", object_id=str(consent.pk)
    ).exists()
    assert client_for(outsider).get(detail_url).status_code == 404


def test_the_charts_queries_do_not_grow_with_portal_consents(
    portal_client, portal_patient, nurse, clinic
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = client_for(nurse)
    url = reverse("patient-chart", args=[portal_patient.pk])
    staff.get(url)
    with CaptureQueriesContext(connection) as before:
        staff.get(url)
    _sign(portal_client)
    _sign(portal_client, "measurement_links")
    give_consent(nurse, clinic, portal_patient, "research_registry")
    with CaptureQueriesContext(connection) as after:
        assert "signed in the portal" in staff.get(url).content.decode()
    assert len(after) == len(before)


def test_a_signed_consent_cannot_be_changed_or_deleted(portal_client, portal_patient):
    from django.db import DatabaseError, transaction

    _sign(portal_client)
    signature = SignedConsent.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        SignedConsent.objects.filter(pk=signature.pk).update(text="Something else")
    with pytest.raises(DatabaseError), transaction.atomic():
        SignedConsent.objects.filter(pk=signature.pk).delete()
    signature.refresh_from_db()
    assert signature.text_sha256 == text_digest(signature.text)
