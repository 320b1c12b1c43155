"""The treatment plan: drafted from a signed evaluation for one protocol, shown with its dose,
schedule, monitoring and predicted concentration, signed (which books the induction sessions),
discarded while a draft, and its sessions rescheduled."""

from datetime import date

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.clinical.protocols.monitoring import observation_minutes, planned_vital_signs
from ketacare.clinical.protocols.schedule import maintenance_phases
from ketacare.patients.consent import TREATMENT_CONSENT
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError, PlanRequest
from ketacare.planning.answers import ROUTE_LABELS
from ketacare.planning.forms import PlanForm, PlanSignForm, ReasonForm, RescheduleForm
from ketacare.planning.models import TreatmentPlan
from ketacare.planning.pk_chart import plan_chart
from ketacare.planning.queries import has_weight
from ketacare.planning.signature import plan_intact
from ketacare.planning.views.shared import evaluation_or_404, plan_or_404
from ketacare.web.submit import submitted


@requires("planning.sign")
def plan_new(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
    protocol_id = request.GET.get("protocol") or request.POST.get("protocol", "")
    choices = []
    if evaluation.is_signed:
        for pid in PROTOCOL_IDS:
            option = get_protocol(pid)
            choices.append((option, actions.route_status(evaluation, option.eligibility_route)))
    protocol = get_protocol(protocol_id) if protocol_id in PROTOCOL_IDS else None
    form = None
    if protocol is not None:
        form = PlanForm(
            request.POST or None,
            protocol=protocol,
            initial={"start_date": timezone.localdate()},
        )
        chosen = protocol
        done, plan = submitted(
            request,
            form,
            lambda data: actions.draft_plan(
                request.actor,
                evaluation.pk,
                PlanRequest(
                    chosen.id,
                    data["dose"],
                    data["start_date"],
                    data.get("vial_mg_per_ml"),
                    data.get("infusion_minutes"),
                    data.get("use_adjusted_weight", False),
                ),
            ),
            "Plan drafted. Check it, then sign it.",
        )
        if done:
            return redirect("plan-detail", plan_id=plan.pk)
    return render(
        request,
        "planning/plan_form.html",
        {
            "evaluation": evaluation,
            "patient": evaluation.patient,
            "choices": choices,
            "protocol": protocol,
            "form": form,
            "has_weight": has_weight(evaluation.patient),
        },
    )


@requires("planning.view")
def plan_detail(request: KetacareRequest, plan_id: int) -> HttpResponse:
    plan = plan_or_404(request, plan_id)
    record(request.actor, Action.VIEW, obj=plan, patient=plan.patient)
    protocol = get_protocol(plan.protocol_id)
    sessions = list(plan.sessions.all()) if plan.is_signed else []
    return render(
        request,
        "planning/plan_detail.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "protocol": protocol,
            "route_label": ROUTE_LABELS[protocol.eligibility_route],
            "chart": plan_chart(plan),
            "sessions": sessions,
            "proposed": [] if plan.is_signed else _proposed(plan),
            "vital_signs": planned_vital_signs(protocol, plan.infusion_minutes or 0),
            "observation_minutes": observation_minutes(protocol, plan.infusion_minutes or 0),
            "intact": plan_intact(plan) if plan.is_signed else None,
            # The route's standing now: an addendum may have excluded it since.
            "current": actions.route_status(plan.evaluation, protocol.eligibility_route),
            "consent_problem": actions.consent_problem(plan)
            if plan.state != TreatmentPlan.State.DISCARDED
            else None,
            "consent_kind": TREATMENT_CONSENT[protocol.drug],
            "bag_ml": load("dose_policy")["bag_volume_ml"],
            "maintenance": maintenance_phases(protocol),
        },
    )


def _proposed(plan: TreatmentPlan) -> list[date]:
    try:
        return actions.proposed_schedule(plan)
    except PlanningError:
        return []


@requires("planning.sign")
def plan_sign(request: KetacareRequest, plan_id: int) -> HttpResponse:
    plan = plan_or_404(request, plan_id)
    consent_problem = actions.consent_problem(plan)
    form = PlanSignForm(request.POST or None, consent_missing=consent_problem is not None)
    done, _ = submitted(
        request,
        form,
        lambda data: actions.sign_plan(
            request.actor,
            plan.pk,
            data["password"],
            data.get("consent_reason", ""),
            code=data.get("code", ""),
        ),
        "Plan signed; its induction sessions are scheduled.",
    )
    if done:
        return redirect("plan-detail", plan_id=plan.pk)
    return render(
        request,
        "planning/confirm.html",
        {
            "form": form,
            "patient": plan.patient,
            "title": "Sign the treatment plan",
            "explanation": "Signing fixes the protocol, dose and schedule, and schedules the "
            "induction sessions.",
            "consent_problem": consent_problem,
            "consent_kind": TREATMENT_CONSENT[get_protocol(plan.protocol_id).drug],
            "button": "Sign plan",
            "back_plan": plan,
        },
    )


@requires("planning.sign")
def plan_discard(request: KetacareRequest, plan_id: int) -> HttpResponse:
    plan = plan_or_404(request, plan_id)
    form = ReasonForm(request.POST or None)
    done, _ = submitted(
        request,
        form,
        lambda data: actions.discard_plan(request.actor, plan.pk, data["reason"]),
        "Draft discarded; a new plan can be drafted.",
    )
    if done:
        return redirect("plan-detail", plan_id=plan.pk)
    return render(
        request,
        "planning/confirm.html",
        {
            "form": form,
            "patient": plan.patient,
            "title": "Discard the draft plan",
            "explanation": "The draft is kept with your reason; it can no longer be signed.",
            "button": "Discard draft",
            "back_plan": plan,
        },
    )


@requires("planning.reschedule")
def plan_reschedule(request: KetacareRequest, plan_id: int) -> HttpResponse:
    plan = plan_or_404(request, plan_id)
    if not plan.is_signed:
        messages.error(request, "Sessions are scheduled when the plan is signed.")
        return redirect("plan-detail", plan_id=plan.pk)
    form = RescheduleForm(request.POST or None, sessions=list(plan.sessions.all()))
    done, _ = submitted(
        request,
        form,
        lambda data: actions.reschedule_session(
            request.actor, plan.pk, data["number"], data["new_date"]
        ),
        lambda moves: f"Moved {len(moves)} session(s).",
    )
    if done:
        return redirect("plan-detail", plan_id=plan.pk)
    return render(
        request,
        "planning/confirm.html",
        {
            "form": form,
            "patient": plan.patient,
            "title": "Reschedule a session",
            "explanation": "Later sessions move with it to keep the protocol's spacing.",
            "button": "Reschedule",
            "back_plan": plan,
        },
    )
