"""Personal access tokens: shown once, hashed at rest, expiring, revocable, stopped with
their owner's membership, made and revoked on the owner's page, each change audited."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.models import Membership
from ketacare.api import actions
from ketacare.api.models import ApiToken
from ketacare.audit.models import AuditEvent
from ketacare.refusals import ActionRefused
from tests.api.conftest import bearer, error_of, token_for
from tests.conftest import actor, client_for

PATIENTS = "/api/v1/patients/"


def test_a_token_is_shown_once_and_only_its_hash_is_kept(nurse, clinic):
    text = token_for(nurse, clinic)
    prefix, key_id, secret = text.split("_")
    assert prefix == "kc" and len(secret) == 64
    token = ApiToken.objects.get(key_id=key_id)
    assert token.secret_hash.startswith("machine_secret_sha256$")
    stored = " ".join(str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values())
    assert secret not in stored
    assert bearer(text).get(PATIENTS).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_page_shows_a_new_token_once_and_audits_it(nurse, clinic):
    client = client_for(nurse)
    page = reverse("api-tokens")
    response = client.post(page, {"do": "make", "name": "billing export", "lifetime_days": 7})
    assert response.status_code == 200
    text = response.context["made"]
    assert text.startswith("kc_") and text in response.content.decode()
    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == timedelta(days=7)
    again = client.get(page)
    assert text not in again.content.decode() and f"kc_{token.key_id}_" in again.content.decode()
    event = AuditEvent.objects.get(object_type="apitoken", action="create")
    assert event.actor == nurse and event.changes["key_id"]["new"] == token.key_id
    assert text.split("_")[2] not in str(event.changes)


def test_a_lifetime_beyond_the_policy_is_refused(nurse, clinic):
    longest = int(actions.policy()["max_lifetime_days"])
    response = client_for(nurse).post(
        reverse("api-tokens"), {"do": "make", "name": "x", "lifetime_days": longest + 1}
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_refused(nurse, clinic):
    text = token_for(nurse, clinic, lifetime_days=1, moment=timezone.now() - timedelta(days=2))
    error = error_of(bearer(text).get(PATIENTS), 401)
    assert error["code"] == "unauthenticated"


def test_a_revoked_token_is_refused_and_the_revocation_audited(nurse, clinic):
    text = token_for(nurse, clinic)
    assert bearer(text).get(PATIENTS).status_code == 200
    token = ApiToken.objects.get()
    client_for(nurse).post(reverse("api-tokens"), {"do": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert error_of(bearer(text).get(PATIENTS), 401)["code"] == "unauthenticated"
    event = AuditEvent.objects.get(object_type="apitoken", action="update")
    assert event.changes["revoked_at"]["old"] is None


def test_no_one_revokes_another_staff_members_token(nurse, prescriber, clinic):
    token_for(nurse, clinic)
    token = ApiToken.objects.get()
    try:
        actions.revoke_token(actor(prescriber, clinic, "prescriber"), token.pk)
    except ActionRefused:
        pass
    else:
        raise AssertionError("revoked another's token")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_deactivated_membership_or_user_stops_the_token(nurse, clinic):
    text = token_for(nurse, clinic)
    Membership.objects.filter(user=nurse).update(active=False)
    assert error_of(bearer(text).get(PATIENTS), 401)["code"] == "unauthenticated"
    Membership.objects.filter(user=nurse).update(active=True)
    assert bearer(text).get(PATIENTS).status_code == 200
    type(nurse).objects.filter(pk=nurse.pk).update(is_active=False)
    assert bearer(text).get(PATIENTS).status_code == 401


def test_a_wrong_or_malformed_token_is_refused(nurse, clinic, client):
    text = token_for(nurse, clinic)
    wrong = text[:-1] + ("0" if text[-1] != "0" else "1")
    for header in (wrong, "kc_nope", "", "x" * 5000, "kc_\x00_\x00"):
        response = bearer(header).get(PATIENTS)
        assert error_of(response, 401)["code"] == "unauthenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(client.get(PATIENTS), 401)["code"] == "unauthenticated"


def test_the_token_acts_in_its_owners_current_role(nurse, clinic):
    text = token_for(nurse, clinic)
    Membership.objects.filter(user=nurse).update(role="researcher")
    assert error_of(bearer(text).get(PATIENTS), 403)["code"] == "forbidden"
