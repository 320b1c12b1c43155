import time_machine
from django.urls import reverse

from ketacare.audit.models import AuditEvent


def test_signed_out_after_15_minutes_idle(as_user, nurse):
    with time_machine.travel("2026-11-29 09:00:00+00:00", tick=False) as traveller:
        client = as_user(nurse)
        assert client.get(reverse("patient-list")).status_code == 200
        traveller.shift(15 * 60 + 1)
        response = client.get(reverse("patient-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    follow = client.get(response["Location"])
    assert "signed out after 15 minutes idle" in follow.content.decode()
    assert AuditEvent.objects.filter(action="logout", actor=nurse).exists()
    # The session is gone, not just hidden: the next request is anonymous too.
    assert client.get(reverse("patient-list")).status_code == 302


def test_activity_keeps_the_session_alive(as_user, nurse):
    with time_machine.travel("2026-11-29 09:00:00+00:00", tick=False) as traveller:
        client = as_user(nurse)
        for _ in range(4):
            traveller.shift(14 * 60)
            assert client.get(reverse("patient-list")).status_code == 200


def test_htmx_request_after_idle_logoff_redirects_whole_page(as_user, nurse):
    with time_machine.travel("2026-11-29 09:00:00+00:00", tick=False) as traveller:
        client = as_user(nurse)
        client.get(reverse("patient-list"))
        traveller.shift(16 * 60)
        response = client.get(reverse("patient-list"), {"q": "a"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_idle_timeout_is_15_minutes_and_sessions_end_with_the_browser(settings):
    assert settings.KETACARE_IDLE_TIMEOUT_SECONDS == 15 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_idle_time_counts_from_the_last_request_within_a_minute(as_user, nurse):
    with time_machine.travel("2026-11-29 09:00:00+00:00", tick=False) as traveller:
        client = as_user(nurse)
        client.get(reverse("patient-list"))
        traveller.shift(59)
        client.get(reverse("patient-list"))  # within the minute: the mark is not moved
        traveller.shift(15 * 60 - 58)  # 15 min 1 s after the first request, 14 min 2 s idle
        response = client.get(reverse("patient-list"))
    # Signed out early rather than late: the mark is at most a minute old.
    assert response.status_code == 302


def test_a_page_polling_by_itself_does_not_keep_the_session_alive(as_user, nurse):
    with time_machine.travel("2026-11-29 09:00:00+00:00", tick=False) as traveller:
        client = as_user(nurse)
        assert client.get(reverse("patient-list")).status_code == 200
        for _ in range(15):
            traveller.shift(60)
            client.get(
                reverse("chair-board"), headers={"X-Ketacare-Poll": "1", "HX-Request": "true"}
            )
        traveller.shift(30)
        response = client.get(reverse("patient-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
