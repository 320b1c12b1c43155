"""Eligibility as staff act on it: the verdicts by route (a finding on every route listed
once), a prescriber's override of a route's verdict, and the clinic's policy rules."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.clinical.eligibility import ROUTES, load_rules
from ketacare.planning import actions
from ketacare.planning.answers import ROUTE_LABELS
from ketacare.planning.forms import OverrideForm, RulePolicyForm
from ketacare.planning.queries import rule_history
from ketacare.planning.rule_policy import clinic_rules, latest_changes
from ketacare.planning.views.shared import evaluation_or_404
from ketacare.web.submit import submitted


def by_route(verdicts: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
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


@requires("planning.sign")
def override_new(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
    route = request.GET.get("route") or request.POST.get("route") or ROUTES[0]
    if route not in ROUTES:
        raise Http404(f"no route {route!r}")
    form = OverrideForm(request.POST or None)
    done, _ = submitted(
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


@requires("planning.rules_view")
def rule_list(request: KetacareRequest) -> HttpResponse:
    """Every eligibility rule with its source, and how this clinic set its policy rules."""
    clinic = request.actor.clinic
    in_force = {rule.id: rule for rule in clinic_rules(clinic).rules}
    changes = latest_changes(clinic)
    rules = [(rule, in_force.get(rule.id), changes.get(rule.id)) for rule in load_rules().rules]
    return render(request, "planning/rules.html", {"rules": rules, "route_labels": ROUTE_LABELS})


@requires("planning.rules_edit")
def rule_edit(request: KetacareRequest, rule_id: str) -> HttpResponse:
    file_rules = {rule.id: rule for rule in load_rules().rules}
    file_rule = file_rules.get(rule_id)
    if file_rule is None or not file_rule.policy:
        messages.error(request, "That rule is not clinic policy; it cannot be changed.")
        return redirect("rule-list")
    in_force = {rule.id: rule for rule in clinic_rules(request.actor.clinic).rules}
    form = RulePolicyForm(request.POST or None, rule=in_force.get(rule_id), file_rule=file_rule)
    done, _ = submitted(
        request,
        form,
        lambda data: actions.change_rule_policy(
            request.actor, rule_id, form.change(), data["reason"]
        ),
        f"Rule changed for this clinic: {file_rule.rationale}",
    )
    if done:
        return redirect("rule-list")
    history = rule_history(request.actor.clinic, rule_id)
    return render(
        request,
        "planning/rule_edit.html",
        {"form": form, "rule": file_rule, "history": history},
    )
