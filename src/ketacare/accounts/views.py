from base64 import b32encode
from collections.abc import Callable

import segno
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts import actions
from ketacare.accounts.access import (
    ACTIVE_CLINIC_SESSION_KEY,
    KetacareRequest,
    active_membership,
    actor_for,
    public,
    requires,
)
from ketacare.accounts.forms import (
    ClinicDetailsForm,
    PasswordChangeForm,
    StaffDetailsForm,
    StaffForm,
    TokenForm,
)
from ketacare.accounts.models import Membership, User
from ketacare.accounts.permissions import LANDING, Role
from ketacare.bounds import parse_id
from ketacare.referrals.crisis import countries, default_country

# LoginView is typed to return HttpResponseBase; it returns pages and redirects.
login = public(auth_views.LoginView.as_view(template_name="accounts/login.html"))  # type: ignore[arg-type]
logout = public(auth_views.LogoutView.as_view())


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@requires("account.use")
def home(request: KetacareRequest) -> HttpResponse:
    """Each role's own start page."""
    return redirect(LANDING[Role(request.actor.role)])


@public
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step of sign-in: the TOTP code."""
    if not request.user.is_authenticated:
        return redirect("login")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        actions.record_failed_second_factor(actor_for(request))
        form.add_error("token", "That code is not valid. Codes change every 30 seconds.")
    return render(request, "accounts/otp_verify.html", {"form": form})


@requires("account.use")
def otp_setup(request: KetacareRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: show the key as a QR code, confirm with a first code."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        messages.info(request, "Your authenticator is already set up.")
        return redirect("home")
    device = actions.start_totp_enrolment(request.actor)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            actions.confirm_totp_device(request.actor, device)
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is on for your account.")
            return redirect("home")
        form.add_error("token", "That code does not match. Check the time on your phone.")
    qr = segno.make(device.config_url, error="m").svg_data_uri(scale=4)
    secret = b32encode(device.bin_key).decode("ascii")
    return render(request, "accounts/otp_setup.html", {"form": form, "qr": qr, "secret": secret})


@requires("account.use")
def password_change(request: KetacareRequest) -> HttpResponse:
    """Change one's own password; the page every other page leads to while an admin-chosen
    password waits to be changed (middleware.PasswordChangeRequiredMiddleware)."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.change_password(
                request.actor, data["current_password"], data["new_password"], data["code"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # This session stays signed in; the user's other sessions end (their hash is stale).
            update_session_auth_hash(request, request.user)
            messages.success(request, "Your password is changed. Other sessions are signed out.")
            return redirect(_safe_next(request))
    context = {
        "form": form,
        "required": request.user.must_change_password,
        "next": _safe_next(request, default=""),
    }
    return render(request, "accounts/password_change.html", context)


@requires("account.use")
def switch_clinic(request: KetacareRequest) -> HttpResponse:
    if request.method == "POST":
        clinic_id = parse_id(request.POST.get("clinic"))
        membership = (
            request.user.memberships.filter(clinic_id=clinic_id, active=True)
            .select_related("clinic")
            .first()
            if clinic_id is not None
            else None
        )
        if membership is not None:
            actions.record_clinic_switch(request.actor, membership.clinic)
            request.session[ACTIVE_CLINIC_SESSION_KEY] = membership.clinic_id
        else:
            messages.error(request, "You are not a member of that clinic.")
    return redirect("home")


@requires("staff.view")
def staff_list(request: KetacareRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(clinic=request.actor.clinic)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )
    locked = actions.locked_out([m.user.username for m in memberships])
    rows = [(m, m.user.username.lower() in locked) for m in memberships]
    return render(request, "accounts/staff_list.html", {"rows": rows})


def _staff_membership(request: KetacareRequest, membership_id: int) -> Membership:
    try:
        return actions.staff_membership(request.actor, membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such staff member at this clinic.") from None


@requires("staff.manage")
def staff_edit(request: KetacareRequest, membership_id: int) -> HttpResponse:
    """A staff member's details and role here, with deactivate, reactivate and unlock."""
    membership = _staff_membership(request, membership_id)
    user = membership.user
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "mobile": user.mobile,
        "role": membership.role,
    }
    form = StaffDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_staff(request.actor, membership.pk, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Saved {form.cleaned_data['first_name']} {form.cleaned_data['last_name']}.",
            )
            return redirect("staff-list")
    context = {
        "form": form,
        "member": membership,
        "locked": user.username.lower() in actions.locked_out([user.username]),
        "is_self": user.pk == request.user.pk,
    }
    return render(request, "accounts/staff_edit.html", context)


def _staff_change(
    request: KetacareRequest,
    membership_id: int,
    change: Callable[[Membership], object],
    done: str,
) -> HttpResponse:
    """A one-button change to a staff member (POST only), then back to their page with what
    happened or why it was refused."""
    membership = _staff_membership(request, membership_id)
    if request.method == "POST":
        try:
            change(membership)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            name = membership.user.get_full_name() or membership.user.username
            messages.success(request, done.format(name=name))
    return redirect("staff-edit", membership_id=membership.pk)


@requires("staff.manage")
def staff_deactivate(request: KetacareRequest, membership_id: int) -> HttpResponse:
    return _staff_change(
        request,
        membership_id,
        lambda m: actions.set_staff_active(request.actor, m.pk, active=False),
        "{name} can no longer sign in to work at this clinic.",
    )


@requires("staff.manage")
def staff_reactivate(request: KetacareRequest, membership_id: int) -> HttpResponse:
    return _staff_change(
        request,
        membership_id,
        lambda m: actions.set_staff_active(request.actor, m.pk, active=True),
        "{name} can work at this clinic again.",
    )


@requires("staff.manage")
def staff_unlock(request: KetacareRequest, membership_id: int) -> HttpResponse:
    return _staff_change(
        request,
        membership_id,
        lambda m: actions.unlock_staff(request.actor, m.pk),
        "{name} can sign in again.",
    )


@requires("staff.manage")
def staff_new(request: KetacareRequest) -> HttpResponse:
    clinic = active_membership(request).clinic  # type: ignore[union-attr]
    form = StaffForm(request.POST or None, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.create_staff(request.actor, clinic=clinic, **data)
        except ValidationError as error:
            # The action has the last word (a username taken since the form was checked).
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Added {data['first_name']} {data['last_name']}. They choose their own "
                "password at first sign-in.",
            )
            return redirect("staff-list")
    return render(request, "accounts/staff_form.html", {"form": form})


@requires("clinic.manage")
def clinic_settings(request: KetacareRequest) -> HttpResponse:
    """The clinic's address, phone and on-call prescriber."""
    clinic = request.actor.clinic
    prescribers = list(
        User.objects.filter(
            memberships__clinic=clinic,
            memberships__role=Role.PRESCRIBER,
            memberships__active=True,
        ).order_by("last_name", "first_name", "username")
    )
    initial = {
        "address": clinic.address,
        "phone": clinic.phone,
        "on_call_prescriber": clinic.on_call_prescriber_id,
        "country": clinic.country or default_country(),
    }
    form = ClinicDetailsForm(
        request.POST or None, initial=initial, prescribers=prescribers, countries=countries()
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_clinic_details(request.actor, clinic, **form.cleaned_data_for_action())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Clinic details saved.")
            return redirect("clinic-settings")
    return render(request, "accounts/clinic_settings.html", {"form": form, "clinic": clinic})
