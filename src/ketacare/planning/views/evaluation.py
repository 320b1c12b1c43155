"""The pre-treatment evaluation: started, edited while in progress, completed, signed by a
prescriber (read-only from then on), and added to by addenda."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.planning import actions
from ketacare.planning.answers import grouped, shown
from ketacare.planning.forms import AddendumForm, EvaluationForm, PasswordConfirmForm
from ketacare.planning.queries import evaluation_plans, has_weight
from ketacare.planning.signature import evaluation_intact
from ketacare.planning.views.eligibility import by_route
from ketacare.planning.views.shared import evaluation_or_404, patient_or_404
from ketacare.web.submit import attempted, submitted


@requires("planning.evaluate")
def evaluation_new(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = patient_or_404(request, pk)
    form = EvaluationForm(request.POST or None, answers=actions.suggested_answers(patient))
    done, evaluation = submitted(
        request,
        form,
        lambda data: actions.start_evaluation(
            request.actor, patient, form.answers(), data["notes"]
        ),
        "Evaluation saved (in progress).",
    )
    if done:
        return redirect("evaluation-detail", evaluation_id=evaluation.pk)
    return render(
        request,
        "planning/evaluation_form.html",
        {"form": form, "patient": patient, "title": "New pre-treatment evaluation"},
    )


@requires("planning.view")
def evaluation_detail(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
    record(request.actor, Action.VIEW, obj=evaluation, patient=evaluation.patient)
    verdicts = actions.effective_verdicts(evaluation) if evaluation.verdicts else {}
    # Overrides exist only on a signed evaluation; until then each route has no status.
    statuses = {
        route: actions.route_status(evaluation, route) if evaluation.is_signed else None
        for route in verdicts
    }
    shared, rows = by_route(verdicts)
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
            "has_weight": evaluation.weight_kg is not None or has_weight(evaluation.patient),
            "plans": evaluation_plans(evaluation),
        },
    )


@requires("planning.evaluate")
def evaluation_edit(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
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
    done, _ = submitted(
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
def evaluation_complete(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
    if request.method == "POST":
        attempted(
            request,
            lambda: actions.complete_evaluation(request.actor, evaluation.pk),
            "Evaluation completed; it awaits a prescriber's signature.",
        )
    return redirect("evaluation-detail", evaluation_id=evaluation.pk)


@requires("planning.sign")
def evaluation_sign(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
    shared, rows = by_route(evaluation.verdicts)
    form = PasswordConfirmForm(request.POST or None)
    done, _ = submitted(
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
def addendum_new(request: KetacareRequest, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_or_404(request, evaluation_id)
    form = AddendumForm(request.POST or None, answers=actions.effective_answers(evaluation))
    # The form carries how many addenda it showed, so a stale one cannot undo a newer one.
    opened = request.POST.get("opened_addenda", "")
    done, _ = submitted(
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
