from typing import Any

from django.http import HttpRequest

from ketacare.accounts.access import active_membership
from ketacare.accounts.permissions import PERMISSIONS, Role, allowed


def staff_context(request: HttpRequest) -> dict[str, Any]:
    """The signed-in staff member's clinic, role and permitted actions, for templates."""
    if not request.user.is_authenticated:
        return {}
    membership = active_membership(request)
    role = membership.role if membership else None
    return {
        "membership": membership,
        "role_label": Role(role).label if role else "",
        "memberships": request.user.memberships.filter(active=True).select_related("clinic"),
        # Templates cannot index with dots: "patient.create" becomes can.patient_create.
        "can": {a.replace(".", "_"): allowed(role, a) for a in PERMISSIONS},
    }
