from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ketacare.accounts.access import active_membership
from ketacare.accounts.permissions import PERMISSIONS, Role, allowed


def staff_context(request: HttpRequest) -> dict[str, Any]:
    """The signed-in staff member's clinic, role and permitted actions, for templates."""
    policy = {
        "idle_seconds": settings.KETACARE_IDLE_TIMEOUT_SECONDS,
        "idle_minutes": settings.KETACARE_IDLE_TIMEOUT_SECONDS // 60,
        "lockout_attempts": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": round(settings.AXES_COOLOFF_TIME * 60),
    }
    if not request.user.is_authenticated:
        return {"policy": policy}
    membership = active_membership(request)
    role = membership.role if membership else None
    can = {a.replace(".", "_"): allowed(role, a) for a in PERMISSIONS}
    return {
        "open_alert_count": _open_alerts(membership) if can["alert_view"] else 0,
        "policy": policy,
        "membership": membership,
        "role_label": Role(role).label if role else "",
        "memberships": request.user.memberships.filter(active=True).select_related("clinic"),
        # Templates cannot index with dots: "patient.create" becomes can.patient_create.
        "can": can,
    }


def _open_alerts(membership: object) -> int:
    # Every page of staff who handle alerts shows how many wait: questionnaire and monitoring
    # alerts and stopped gates, a few indexed counts.
    from ketacare.measures.queries import open_alert_count

    return open_alert_count(membership.clinic)  # type: ignore[attr-defined]
