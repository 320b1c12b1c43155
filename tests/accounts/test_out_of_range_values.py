"""Switching to a 40-digit clinic id (issue 13: a server error, an integer no database
column holds): "not a member", like any other clinic one does not work in."""

from django.urls import reverse

from ketacare.audit.models import AuditEvent


def test_switching_to_a_40_digit_clinic_id_is_refused(nurse, clinic, as_user):
    response = as_user(nurse).post(reverse("switch-clinic"), {"clinic": "9" * 40}, follow=True)
    assert response.status_code == 200
    assert "You are not a member of that clinic." in response.content.decode()
    assert response.context["membership"].clinic == clinic
    assert not AuditEvent.objects.filter(action="update", object_type="user").exists()
