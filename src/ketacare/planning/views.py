from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Case, Prefetch, When
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ketacare.accounts.access import requires
from ketacare.audit.record import Action, record
from ketacare.clinical.datafiles import load
from ketacare.clinical.eligibility import ROUTES, load_rules
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.clinical.protocols.monitoring import observation_minutes, planned_vital_signs
from ketacare.clinical.protocols.schedule import maintenance_phases
from ketacare.patients.consent import TREATMENT_CONSENT
from ketacare.patients.models import Patient
from ketacare.planning import actions
from ketacare.planning.actions import PlanningError, PlanRequest
from ketacare.planning.answers import ROUTE_LABELS, grouped, shown
from ketacare.planning.forms import (
    AddendumForm,
    EvaluationForm,
    OverrideForm,
    PasswordConfirmForm,
    PlanForm,
    PlanSignForm,
    ReasonForm,
    RescheduleForm,
    RulePolicyForm,
)
from ketacare.planning.models import (
    Evaluation,
    EvaluationAddendum,
    RulePolicyChange,
    TreatmentPlan,
)
from ketacare.planning.pk_chart import plan_chart
from ketacare.planning.rule_policy import clinic_rules, latest_changes
from ketacare.planning.signature import evaluation_intact, plan_intact

WORKLIST_LIMIT = 50


def _patient(request: HttpRequest, pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk, clinic=request.actor.clinic)


def _evaluation(request: HttpRequest, evaluation_id: int) -> Evaluation:
    # Another clinic's evaluation is "not found", never "forbidden": ids reveal nothing.
    queryset = Evaluation.objects.select_related("patient", "signed_by", "completed_by")
    queryset = queryset.prefetch_related(
        Prefetch("addenda", EvaluationAddendum.objects.select_related("author")),
        "overrides__prescriber",
    )
    return get_object_or_404(queryset, pk=evaluation_id, clinic=request.actor.clinic)


def _plan(request: HttpRequest, plan_id: int) -> TreatmentPlan:
    queryset = TreatmentPlan.objects.select_related(
        "patient", "evaluation", "signed_by", "created_by", "override__prescriber"
    )
    return get_object_or_404(queryset, pk=plan_id, clinic=request.actor.clinic)


def _submitted(
    request: HttpRequest,
    form: Form,
    act: Callable[[dict[str, Any]], Any],
    success: Callable[[Any], str] | str,
) -> tuple[bool, Any]:
    """Run the action on a valid POST: (True, its result), or (False, None) when nothing was
    done (a GET, an invalid form, or a refusal, which is added to the form's errors)."""
    if request.method != "POST" or not form.is_valid():
        return False, None
    try:
        result = act(form.cleaned_data)
    except PlanningError as error:
        form.add_error(None, str(error))
        return False, None
    messages.success(request, success if isinstance(success, str) else success(result))
    return True, result


def _by_route(verdicts: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """The findings that fired for every route, listed once, and for each route (in the
    rules' order) its label, its verdict and the findings that are its own."""
    routes = [route for route in ROUTES if route in verdicts]
    common: set[str] = set()
    if len(routes) > 1:
        common = set.intersection(*({f["id"] for f in verdicts[r]["fired"]} for r in routes))
    shared = [f for f in verdicts[routes[0]]["fired"] if f["id"] in common] if common else []
    rows = [
        (
            ROUTE_LABELS[route],
            verdicts[route],
            [f for f in verdicts[route]["fired"] if f["id"] not in common],
        )
        for route in routes
    ]
    return shared, rows


@requires("planning.view")
def worklist(request: HttpRequest) -> HttpResponse:
    """What waits for a prescriber: evaluations to sign and draft plans, and recent plans."""
    clinic = request.actor.clinic
    evaluations = (
        Evaluation.objects.filter(clinic=clinic)
        .exclude(state=Evaluation.State.SIGNED)
        .select_related("patient")
        .order_by("-updated_at")[:WORKLIST_LIMIT]
    )
    plans = (
        TreatmentPlan.objects.filter(clinic=clinic)
        .select_related("patient", "signed_by")
        # Drafts first: they wait for a prescriber.
        .order_by(Case(When(state=TreatmentPlan.State.DRAFT, then=0), default=1), "-created_at")[
            :WORKLIST_LIMIT
        ]
    )
    return render(
        request,
        "planning/worklist.html",
        {"evaluations": evaluations, "plans": plans},
    )


@requires("planning.view")
def patient_planning(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    record(request.actor, Action.VIEW, object_type="planning", patient=patient)
    return render(
        request,
        "planning/patient.html",
        {
            "patient": patient,
            "evaluations": patient.evaluations.select_related("signed_by").order_by("-created_at"),
            "plans": patient.plans.select_related("signed_by").order_by("-created_at"),
        },
    )


@requires("planning.evaluate")
def evaluation_new(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    form = EvaluationForm(request.POST or None, answers=actions.suggested_answers(patient))
    if request.method == "POST" and form.is_valid():
        evaluation = actions.start_evaluation(
            request.actor, patient, form.answers(), form.cleaned_data["notes"]
        )
        messages.success(request, "Evaluation saved (in progress).")
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    return render(
        request,
        "planning/evaluation_form.html",
        {"form": form, "patient": patient, "title": "New pre-treatment evaluation"},
    )


@requires("planning.view")
def evaluation_detail(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    record(request.actor, Action.VIEW, obj=evaluation, patient=evaluation.patient)
    verdicts = actions.effective_verdicts(evaluation) if evaluation.verdicts else {}
    # Overrides exist only on a signed evaluation; until then each route has no status.
    statuses = {
        route: actions.route_status(evaluation, route) if evaluation.is_signed else None
        for route in verdicts
    }
    shared, rows = _by_route(verdicts)
    return render(
        request,
        "planning/evaluation_detail.html",
        {
            "evaluation": evaluation,
            "patient": evaluation.patient,
            "groups": grouped(actions.judged_answers(evaluation, request.actor.today())),
            "shared": shared,
            "verdicts": [(*row, statuses[row[1]["route"]]) for row in rows],
            "addenda": [
                (a, [(p, shown(p, c["old"]), shown(p, c["new"])) for p, c in a.changes.items()])
                for a in evaluation.addenda.all()
            ],
            "intact": evaluation_intact(evaluation) if evaluation.is_signed else None,
            # Completing takes the weight from the chart: say so, with the way to record it.
            "has_weight": evaluation.weight_kg is not None
            or evaluation.patient.measurements.exists(),
            "plans": evaluation.plans.select_related("signed_by").order_by("-created_at"),
        },
    )


@requires("planning.evaluate")
def evaluation_edit(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    if evaluation.is_signed:
        messages.error(request, "This evaluation is signed and read-only. Add an addendum.")
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    form = EvaluationForm(
        request.POST or None,
        answers=evaluation.answers,
        initial={"notes": evaluation.notes},
    )
    # A POST without the version it was opened at cannot prove it is not stale.
    version = request.POST.get("version", "") if request.method == "POST" else evaluation.version
    done, _ = _submitted(
        request,
        form,
        lambda data: actions.save_evaluation(
            request.actor, evaluation.pk, form.answers(), data["notes"], version
        ),
        lambda changes: f"Saved {len(changes)} change(s)." if changes else "Nothing changed.",
    )
    if done:
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    return render(
        request,
        "planning/evaluation_form.html",
        {
            "form": form,
            "patient": evaluation.patient,
            "evaluation": evaluation,
            "version": version,
            "title": "Edit pre-treatment evaluation",
        },
    )


@requires("planning.evaluate")
def evaluation_complete(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    if request.method == "POST":
        try:
            actions.complete_evaluation(request.actor, evaluation.pk)
        except PlanningError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Evaluation completed; it awaits a prescriber's signature.")
    return redirect("evaluation-detail", evaluation_id=evaluation.pk)


@requires("planning.sign")
def evaluation_sign(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    shared, rows = _by_route(evaluation.verdicts)
    form = PasswordConfirmForm(request.POST or None)
    done, _ = _submitted(
        request,
        form,
        lambda data: actions.sign_evaluation(
            request.actor, evaluation.pk, data["password"], data.get("code", "")
        ),
        "Evaluation signed. It can no longer be edited.",
    )
    if done:
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    return render(
        request,
        "planning/confirm.html",
        {
            "form": form,
            "patient": evaluation.patient,
            "title": "Sign the pre-treatment evaluation",
            "shared": shared,
            "verdicts": rows,
            "explanation": "Signing fixes the evaluation and its eligibility verdicts; later "
            "changes are addenda.",
            "button": "Sign evaluation",
            "back": evaluation,
        },
    )


@requires("planning.addendum")
def addendum_new(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    form = AddendumForm(request.POST or None, answers=actions.effective_answers(evaluation))
    # The form carries how many addenda it showed, so a stale one cannot undo a newer one.
    opened = request.POST.get("opened_addenda", "")
    done, _ = _submitted(
        request,
        form,
        lambda data: actions.add_addendum(
            request.actor,
            evaluation.pk,
            data["note"],
            form.answers(),
            int(opened) if opened.isdigit() else -1,
        ),
        "Addendum added.",
    )
    if done:
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    return render(
        request,
        "planning/evaluation_form.html",
        {
            "form": form,
            "patient": evaluation.patient,
            "evaluation": evaluation,
            "title": "Addendum to the signed evaluation",
            "opened_addenda": opened or len(evaluation.addenda.all()),
        },
    )


@requires("planning.sign")
def override_new(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    route = request.GET.get("route") or request.POST.get("route") or ROUTES[0]
    if route not in ROUTES:
        raise Http404(f"no route {route!r}")
    form = OverrideForm(request.POST or None)
    done, _ = _submitted(
        request,
        form,
        lambda data: actions.override_eligibility(
            request.actor,
            evaluation.pk,
            route,
            data["reason"],
            data["password"],
            data.get("code", ""),
        ),
        f"Override recorded for {ROUTE_LABELS[route]}.",
    )
    if done:
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    status = actions.route_status(evaluation, route) if evaluation.is_signed else None
    return render(
        request,
        "planning/confirm.html",
        {
            "form": form,
            "patient": evaluation.patient,
            "title": f"Override eligibility: {ROUTE_LABELS[route]}",
            "status": status,
            "route_label": ROUTE_LABELS[route],
            "route": route,
            "button": "Record override",
            "back": evaluation,
        },
    )


@requires("planning.sign")
def plan_new(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = _evaluation(request, evaluation_id)
    protocol_id = request.GET.get("protocol") or request.POST.get("protocol", "")
    choices = []
    if evaluation.is_signed:
        for pid in PROTOCOL_IDS:
            protocol = get_protocol(pid)
            choices.append((protocol, actions.route_status(evaluation, protocol.eligibility_route)))
    protocol = get_protocol(protocol_id) if protocol_id in PROTOCOL_IDS else None
    form = None
    if protocol is not None:
        form = PlanForm(
            request.POST or None,
            protocol=protocol,
            initial={"start_date": timezone.localdate()},
        )
        chosen = protocol
        done, plan = _submitted(
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
            "has_weight": evaluation.patient.measurements.exists(),
        },
    )


@requires("planning.view")
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
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


def _proposed(plan: TreatmentPlan) -> list:
    try:
        return actions.proposed_schedule(plan)
    except PlanningError:
        return []


@requires("planning.sign")
def plan_sign(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    consent_problem = actions.consent_problem(plan)
    form = PlanSignForm(request.POST or None, consent_missing=consent_problem is not None)
    done, _ = _submitted(
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
def plan_discard(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    form = ReasonForm(request.POST or None)
    done, _ = _submitted(
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
def plan_reschedule(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    if not plan.is_signed:
        messages.error(request, "Sessions are scheduled when the plan is signed.")
        return redirect("plan-detail", plan_id=plan.pk)
    form = RescheduleForm(request.POST or None, sessions=list(plan.sessions.all()))
    done, _ = _submitted(
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


@requires("planning.rules_view")
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every eligibility rule with its source, and how this clinic set its policy rules."""
    clinic = request.actor.clinic
    in_force = {rule.id: rule for rule in clinic_rules(clinic).rules}
    changes = latest_changes(clinic)
    rules = [(rule, in_force.get(rule.id), changes.get(rule.id)) for rule in load_rules().rules]
    return render(request, "planning/rules.html", {"rules": rules, "route_labels": ROUTE_LABELS})


@requires("planning.rules_edit")
def rule_edit(request: HttpRequest, rule_id: str) -> HttpResponse:
    file_rules = {rule.id: rule for rule in load_rules().rules}
    file_rule = file_rules.get(rule_id)
    if file_rule is None or not file_rule.policy:
        messages.error(request, "That rule is not clinic policy; it cannot be changed.")
        return redirect("rule-list")
    in_force = {rule.id: rule for rule in clinic_rules(request.actor.clinic).rules}
    form = RulePolicyForm(request.POST or None, rule=in_force.get(rule_id), file_rule=file_rule)
    done, _ = _submitted(
        request,
        form,
        lambda data: actions.change_rule_policy(
            request.actor, rule_id, form.change(), data["reason"]
        ),
        f"Rule changed for this clinic: {file_rule.rationale}",
    )
    if done:
        return redirect("rule-list")
    history = [
        c
        for c in RulePolicyChange.objects.filter(clinic=request.actor.clinic, rule_id=rule_id)
        .select_related("author")
        .order_by("-created_at", "-id")
    ]
    return render(
        request,
        "planning/rule_edit.html",
        {"form": form, "rule": file_rule, "history": history},
    )
