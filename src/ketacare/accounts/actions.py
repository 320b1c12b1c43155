"""Changes to staff accounts and their second factor, each with its audit event."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.access import Actor
from ketacare.accounts.models import Clinic, Membership, User
from ketacare.accounts.permissions import Role
from ketacare.audit.record import Action, field_changes, record


@transaction.atomic
def create_clinic(actor: Actor, name: str) -> Clinic:
    clinic = Clinic.objects.create(name=name)
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
) -> User:
    """Create a staff account with a role at one clinic. An existing username is refused:
    it may belong to someone else, perhaps at another clinic."""
    role = Role(role)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(f"The username {username!r} is taken.")
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        mobile=mobile.strip(),
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    record(
        actor,
        Action.CREATE,
        obj=user,
        object_type="user",
        clinic=clinic,
        changes=field_changes(
            {}, {"username": username, "first_name": first_name, "last_name": last_name}
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
) -> Clinic:
    """The clinic's address and phone, and who is on call for safety alerts: an active
    prescriber of this clinic, or nobody (then every active prescriber is told)."""
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
    }
    clinic.address, clinic.phone = address.strip(), phone.strip()
    clinic.on_call_prescriber = on_call
    clinic.save(update_fields=["address", "phone", "on_call_prescriber"])
    after = {
        "address": clinic.address,
        "phone": clinic.phone,
        "on_call_prescriber": clinic.on_call_prescriber_id,
    }
    record(actor, Action.UPDATE, obj=clinic, clinic=clinic, changes=field_changes(before, after))
    return clinic
