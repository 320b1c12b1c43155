"""The reminder's link and the words of the reminder. The link names the appointment by a
signed token, so it cannot be guessed or altered; the message names the clinic and the time
and nothing else (phones show it on the lock screen: no diagnosis, drug or kind of visit)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

SALT = "ketacare.reminders.appointment-link"


def token_for(appointment_id: int) -> str:
    return signing.Signer(salt=SALT).sign(str(appointment_id))


def appointment_id_from(token: str) -> int | None:
    """The appointment's id, or None if the token was not signed by this server."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def absolute_url(appointment_id: int) -> str:
    path = reverse("appointment-link", args=[token_for(appointment_id)])
    return settings.KETACARE_BASE_URL.rstrip("/") + path


def when(start: datetime, zone: ZoneInfo) -> str:
    """The start as the patient reads it, in the clinic's zone: "Tuesday 8 December at 09:00
    (EST)"."""
    local = timezone.localtime(start, zone)
    # In the active language (a patient page in Spanish: "martes 8 de diciembre a las
    # 09:00"); the texts and emails, sent outside a request, stay in English.
    return _("%(weekday)s %(day)s %(month)s at %(time)s (%(zone)s)") % {
        "weekday": dateformat.format(local, "l"),
        "day": local.day,
        "month": dateformat.format(local, "F"),
        "time": f"{local:%H:%M}",
        "zone": f"{local:%Z}",
    }


def message_text(clinic_name: str, start: datetime, zone: ZoneInfo, url: str, sms: bool) -> str:
    text = (
        f"{clinic_name}: a reminder of your appointment on {when(start, zone)}. "
        f"To confirm or cancel: {url}"
    )
    # Carriers require texts to say how to stop them.
    return text + " Reply STOP to stop texts." if sms else text


def subject(clinic_name: str) -> str:
    return f"Your appointment at {clinic_name}"
