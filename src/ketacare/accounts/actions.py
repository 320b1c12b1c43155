"""Changes to staff accounts and their second factor, each with its audit event."""

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts import passwords
from ketacare.accounts.models import Clinic, Membership, User
from ketacare.accounts.permissions import Role
from ketacare.accounts.reauth import SignatureRefused, reauthenticate_actor
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record


@transaction.atomic
def create_clinic(actor: Actor, name: str) -> Clinic:
    clinic = Clinic.objects.create(name=name, created_at=actor.now())
    record(
        actor, Action.CREATE, obj=clinic, clinic=clinic, changes=field_changes({}, {"name": name})
    )
    return clinic


@transaction.atomic
def create_staff(
    actor: Actor,
    *,
    clinic: Clinic,
    username: str,
    password: str,
    role: Role | str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    mobile: str = "",
    must_change_password: bool | None = None,
) -> User:
    """Create a staff account with a role at one clinic. An existing username is refused:
    it may belong to someone else, perhaps at another clinic. The password must pass every
    rule of ``AUTH_PASSWORD_VALIDATORS``, the clinic's name among them.

    Whoever chooses a password for someone else knows it, so the new account must change it at
    its first sign-in: always when a person (a clinic admin) creates it; a script (``SYSTEM``:
    the createstaff command, the demo, the tests) says whether with ``must_change_password``."""
    role = Role(role)
    if must_change_password is None:
        must_change_password = actor.user is not None
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(f"The username {username!r} is taken.")
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        mobile=mobile.strip(),
        must_change_password=must_change_password,
        date_joined=actor.now(),
    )
    try:
        validate_password(password, passwords.for_clinic(user, clinic))
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.save()
    record(
        actor,
        Action.CREATE,
        obj=user,
        object_type="user",
        clinic=clinic,
        changes=field_changes(
            {},
            {
                "username": username,
                "first_name": first_name,
                "last_name": last_name,
                "must_change_password": must_change_password,
            },
        ),
    )
    membership = Membership.objects.create(user=user, clinic=clinic, role=role)
    record(
        actor,
        Action.CREATE,
        obj=membership,
        clinic=clinic,
        changes=field_changes({}, {"user": username, "clinic": clinic.name, "role": role.value}),
    )
    return user


# The same words for every refusal of the current password (wrong, or the account locked out):
# the page must not tell an attacker at an open session which of them it was.
NOT_ACCEPTED_MESSAGE = (
    "Your current password was not accepted. After {limit} failed attempts (here or at sign-in) "
    "the account is locked for {minutes} minutes; a clinic admin can unlock it."
)


def change_password(actor: Actor, current_password: str, new_password: str, code: str = "") -> User:
    """The actor's own new password, after their current one.

    The new password is checked first (against every validator, and that it differs), so that
    a refused new password says nothing about the current one. Not one transaction on purpose:
    a failed current password must stay counted and audited even though the change is refused.
    Other sessions of the user end on their next request (the session hash changes); the
    caller keeps its own with ``update_session_auth_hash``."""
    user = actor.user
    assert user is not None, "only a signed-in user changes their password"
    if new_password == current_password:
        raise ValidationError({"new_password": "Choose a new password, not your current one."})
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from None
    try:
        # The current password is a password prompt like any other: one sign-in check.
        reauthenticate_actor(actor, current_password, code, prompt="password change")
    except SignatureRefused:
        minutes = round(get_cool_off().total_seconds() / 60)
        message = NOT_ACCEPTED_MESSAGE.format(limit=settings.AXES_FAILURE_LIMIT, minutes=minutes)
        raise ValidationError({"current_password": message}) from None
    with transaction.atomic():
        changed = User.objects.select_for_update().get(pk=user.pk)
        was_required = changed.must_change_password
        changed.set_password(new_password)
        changed.must_change_password = False
        changed.save(update_fields=["password", "must_change_password"])
        # What changed, never the password or its hash.
        record(
            actor,
            Action.UPDATE,
            obj=changed,
            object_type="user",
            changes={
                "password": "changed",
                **field_changes(
                    {"must_change_password": was_required}, {"must_change_password": False}
                ),
            },
        )
    # The caller's user object (request.user) carries the new hash for update_session_auth_hash.
    user.password, user.must_change_password = changed.password, False
    return changed


def record_failed_second_factor(actor: Actor) -> None:
    """A wrong TOTP code after a right password: worth a clinic admin's attention."""
    record(
        actor,
        Action.LOGIN_FAILED,
        obj=actor.user,
        object_type="user",
        changes={"factor": "totp"},
    )


def record_clinic_switch(actor: Actor, clinic: Clinic) -> None:
    """Working under another clinic changes which patients the user sees; audit it."""
    record(
        actor,
        Action.UPDATE,
        obj=actor.user,
        object_type="user",
        clinic=clinic,
        changes=field_changes(
            {"active_clinic": actor.clinic.name if actor.clinic else None},
            {"active_clinic": clinic.name},
        ),
    )


def start_totp_enrolment(actor: Actor) -> TOTPDevice:
    """The user's unconfirmed authenticator key, created on first use; reused until confirmed
    so that reloading the page does not invalidate a QR code already scanned."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=actor.user, confirmed=False, defaults={"name": "authenticator"}
    )
    return device


@transaction.atomic
def confirm_totp_device(actor: Actor, device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(
        actor,
        Action.UPDATE,
        obj=device,
        object_type="totp_device",
        changes=field_changes({"confirmed": False}, {"confirmed": True}),
    )


@transaction.atomic
def update_clinic_details(
    actor: Actor,
    clinic: Clinic,
    *,
    address: str,
    phone: str,
    on_call_prescriber_id: int | None,
    country: str = "",
) -> Clinic:
    """The clinic's address and phone, who is on call for safety alerts (an active
    prescriber of this clinic, or nobody: then every active prescriber is told), and its
    country (one whose crisis lines ketacare has; empty: the default)."""
    # Imported here: the crisis lines are the front door's data, above this layer.
    from ketacare.referrals.crisis import countries

    if country and country not in countries():
        raise ValidationError("Choose a country whose crisis lines ketacare has.")
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    on_call = None
    if on_call_prescriber_id is not None:
        on_call = User.objects.filter(
            pk=on_call_prescriber_id,
            memberships__clinic=clinic,
            memberships__role=Role.PRESCRIBER,
            memberships__active=True,
        ).first()
        if on_call is None:
            raise ValidationError("The on-call prescriber must be an active prescriber here.")
    before = {
        "address": clinic.address,
        "phone": clinic.phone,
        "on_call_prescriber": clinic.on_call_prescriber_id,
        "country": clinic.country,
    }
    clinic.address, clinic.phone = address.strip(), phone.strip()
    clinic.on_call_prescriber = on_call
    clinic.country = country
    clinic.save(update_fields=["address", "phone", "on_call_prescriber", "country"])
    after = {
        "address": clinic.address,
        "phone": clinic.phone,
        "on_call_prescriber": clinic.on_call_prescriber_id,
        "country": clinic.country,
    }
    record(actor, Action.UPDATE, obj=clinic, clinic=clinic, changes=field_changes(before, after))
    return clinic


# --- staff administration: a clinic admin's changes to a membership of their own clinic ------


class StaffError(ValidationError):
    """A change to a staff member that is refused; nothing was changed."""


def staff_membership(actor: Actor, membership_id: int, lock: bool = False) -> Membership:
    """A membership of the actor's clinic (locked for a change). Another clinic's is not found
    (``Membership.DoesNotExist``), never forbidden: an id reveals nothing."""
    memberships = Membership.objects.select_related("user", "clinic")
    if lock:
        memberships = memberships.select_for_update()
    return memberships.get(pk=membership_id, clinic=actor.clinic)


def _release_on_call(actor: Actor, membership: Membership) -> None:
    """Safety alerts must not go to someone who no longer prescribes here: a member who stops
    being an active prescriber stops being the clinic's on-call prescriber."""
    clinic = Clinic.objects.select_for_update().get(pk=membership.clinic_id)
    if clinic.on_call_prescriber_id != membership.user_id:
        return
    clinic.on_call_prescriber = None
    clinic.save(update_fields=["on_call_prescriber"])
    record(
        actor,
        Action.UPDATE,
        obj=clinic,
        clinic=clinic,
        changes=field_changes(
            {"on_call_prescriber": membership.user_id}, {"on_call_prescriber": None}
        ),
    )


@transaction.atomic
def update_staff(
    actor: Actor,
    membership_id: int,
    *,
    first_name: str,
    last_name: str,
    email: str,
    mobile: str,
    role: Role | str,
) -> Membership:
    """A staff member's name, email and mobile, and their role at this clinic. A clinic admin
    keeps their own role: another admin changes it, so a clinic is never left without one."""
    membership = staff_membership(actor, membership_id, lock=True)
    role = Role(role)
    if membership.user_id == actor.user.pk and role != membership.role:  # type: ignore[union-attr]
        raise StaffError("You cannot change your own role. Ask another clinic admin.")
    user = User.objects.select_for_update().get(pk=membership.user_id)
    fields = ("first_name", "last_name", "email", "mobile")
    before = {name: getattr(user, name) for name in fields}
    after = {
        "first_name": first_name.strip(),
        "last_name": last_name.strip(),
        "email": email.strip(),
        "mobile": mobile.strip(),
    }
    if before != after:
        for name, value in after.items():
            setattr(user, name, value)
        user.save(update_fields=list(fields))
        record(
            actor,
            Action.UPDATE,
            obj=user,
            object_type="user",
            clinic=membership.clinic,
            changes=field_changes(before, after),
        )
    if role != membership.role:
        old_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record(
            actor,
            Action.UPDATE,
            obj=membership,
            clinic=membership.clinic,
            changes=field_changes({"role": old_role}, {"role": role.value}),
        )
        if role != Role.PRESCRIBER:
            _release_on_call(actor, membership)
    return membership


@transaction.atomic
def set_staff_active(actor: Actor, membership_id: int, active: bool) -> Membership:
    """Deactivate a membership (the person can no longer work at this clinic, from their next
    request on; their other clinics are untouched) or reactivate it. A clinic admin cannot
    deactivate themself."""
    membership = staff_membership(actor, membership_id, lock=True)
    if not active and membership.user_id == actor.user.pk:  # type: ignore[union-attr]
        raise StaffError("You cannot deactivate your own account. Ask another clinic admin.")
    if membership.active == active:
        state = "active" if active else "deactivated"
        raise StaffError(f"{_name(membership.user)} is already {state} here.")
    membership.active = active
    membership.save(update_fields=["active"])
    record(
        actor,
        Action.UPDATE,
        obj=membership,
        clinic=membership.clinic,
        changes=field_changes({"active": not active}, {"active": active}),
    )
    if not active:
        _release_on_call(actor, membership)
    return membership


def locked_out(usernames: list[str]) -> set[str]:
    """Which of these usernames (lower case) django-axes locks out now: at least
    AXES_FAILURE_LIMIT failed sign-ins within the cool-off time. Now is the real time, as
    django-axes counts it (a lock-out is not simulated)."""
    attempts = (
        AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - get_cool_off())
        .annotate(name=Lower("username"))
        .filter(name__in=[username.lower() for username in usernames])
        .values("name")
        .annotate(failures=Sum("failures_since_start"))
    )
    return {a["name"] for a in attempts if a["failures"] >= settings.AXES_FAILURE_LIMIT}


@transaction.atomic
def unlock_staff(actor: Actor, membership_id: int) -> Membership:
    """Lift a lock-out after failed sign-ins (django-axes counts them by username, as typed),
    so that the staff member can sign in again before the cool-off time is over."""
    membership = staff_membership(actor, membership_id, lock=True)
    username = membership.user.username
    if username.lower() not in locked_out([username]):
        raise StaffError(f"{_name(membership.user)} is not locked out.")
    attempts = AccessAttempt.objects.filter(username__iexact=username)
    failures = attempts.aggregate(total=Sum("failures_since_start"))["total"]
    attempts.delete()
    record(
        actor,
        Action.UPDATE,
        obj=membership.user,
        object_type="user",
        clinic=membership.clinic,
        changes={"locked_out": {"old": True, "new": False}, "failed_attempts": failures},
    )
    return membership


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()
