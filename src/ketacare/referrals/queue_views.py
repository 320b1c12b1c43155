"""The intake queue's pages: the queue with its funnel, and one referral with its history,
contact attempts, likely duplicates and the forms that change it. Thin: each form is parsed
and handed to its action in ``intake``; another clinic's referral is "not found"."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.referrals import intake, queue
from ketacare.referrals.models import Referral
from ketacare.referrals.queue_forms import AcceptForm, CloseForm, ContactForm
from ketacare.web.submit import attempted


@requires("referrals.view")
def intake_queue(request: KetacareRequest) -> HttpResponse:
    clinic, now = request.actor.clinic, request.actor.now()
    assert clinic is not None
    return render(
        request,
        "referrals/queue.html",
        {"rows": queue.open_queue(clinic, now), "funnel": queue.funnel(clinic, now)},
    )


def _referral(request: KetacareRequest, referral_id: int) -> Referral:
    return get_object_or_404(Referral, pk=referral_id, clinic=request.actor.clinic)


@requires("referrals.view")
def referral_detail(request: KetacareRequest, referral_id: int) -> HttpResponse:
    referral = _referral(request, referral_id)
    # The person's details are health information: each opening is audited.
    record(request.actor, Action.VIEW, obj=referral, clinic=request.actor.clinic)
    duplicates = queue.duplicates(referral)
    clinic = request.actor.clinic
    assert clinic is not None
    accept_form = AcceptForm(
        initial={"confirmed_duplicates": ",".join(str(d.patient.pk) for d in duplicates)}
    )
    return render(
        request,
        "referrals/referral.html",
        {
            "referral": referral,
            "wait": queue.waiting(referral, clinic, request.actor.now()),
            "changes": referral.changes.select_related("changed_by"),
            "attempts": referral.attempts.select_related("made_by"),
            "duplicates": duplicates,
            "contact_form": ContactForm(initial={"at": request.actor.now()}),
            "close_form": CloseForm(),
            "accept_form": accept_form,
        },
    )


def _invalid(request: KetacareRequest, form: ContactForm | CloseForm | AcceptForm) -> None:
    problems = "; ".join(
        f"{field}: {' '.join(str(e) for e in errs)}" for field, errs in form.errors.items()
    )
    messages.error(request, f"Nothing was saved. {problems}")


@requires("referrals.manage")
def log_contact(request: KetacareRequest, referral_id: int) -> HttpResponse:
    referral = _referral(request, referral_id)
    if request.method != "POST":
        return redirect("referral-detail", referral.pk)
    form = ContactForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
    else:
        data = form.cleaned_data
        attempted(
            request,
            lambda: intake.log_contact(
                request.actor,
                referral.pk,
                at=data["at"],
                channel=data["channel"],
                outcome=data["outcome"],
                note=data["note"],
            ),
            "Contact attempt logged.",
        )
    return redirect("referral-detail", referral.pk)


@requires("referrals.manage")
def close(request: KetacareRequest, referral_id: int) -> HttpResponse:
    referral = _referral(request, referral_id)
    if request.method != "POST":
        return redirect("referral-detail", referral.pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
    else:
        data = form.cleaned_data
        attempted(
            request,
            lambda: intake.change_state(
                request.actor,
                referral.pk,
                data["state"],
                reason=data["reason"],
                referred_to=data["referred_to"],
                note=data["note"],
            ),
            "Referral closed.",
        )
    return redirect("referral-detail", referral.pk)


@requires("referrals.manage")
def accept(request: KetacareRequest, referral_id: int) -> HttpResponse:
    referral = _referral(request, referral_id)
    if request.method != "POST":
        return redirect("referral-detail", referral.pk)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        _invalid(request, form)
        return redirect("referral-detail", referral.pk)
    data = form.cleaned_data
    result, _ = attempted(
        request,
        lambda: intake.accept(
            request.actor,
            referral.pk,
            sex_at_birth=data["sex_at_birth"],
            confirmed_duplicates=form.confirmed(),
            evaluation_start=data["evaluation_start"],
            chair_id=data["chair_id"],
            existing_patient_id=data["existing_patient_id"],
        ),
        lambda done: (
            f"Accepted: patient MRN {done[1].mrn} "
            + ("linked" if data["existing_patient_id"] else "registered")
            + ", intake questionnaires assigned"
            + (", evaluation booked." if done[2] else "; book the evaluation when agreed.")
        ),
    )
    if result is not None:
        return redirect("patient-chart", result[1].pk)
    return redirect("referral-detail", referral.pk)
