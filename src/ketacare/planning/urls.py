from django.urls import path

from ketacare.planning.views import eligibility, evaluation, plan, worklist

urlpatterns = [
    path("planning/", worklist.worklist, name="planning-worklist"),
    path("planning/rules/", eligibility.rule_list, name="rule-list"),
    path("planning/rules/<str:rule_id>/", eligibility.rule_edit, name="rule-edit"),
    path("patients/<int:pk>/planning/", worklist.patient_planning, name="patient-planning"),
    path("patients/<int:pk>/evaluations/new/", evaluation.evaluation_new, name="evaluation-new"),
    path(
        "evaluations/<int:evaluation_id>/", evaluation.evaluation_detail, name="evaluation-detail"
    ),
    path(
        "evaluations/<int:evaluation_id>/edit/", evaluation.evaluation_edit, name="evaluation-edit"
    ),
    path(
        "evaluations/<int:evaluation_id>/complete/",
        evaluation.evaluation_complete,
        name="evaluation-complete",
    ),
    path(
        "evaluations/<int:evaluation_id>/sign/", evaluation.evaluation_sign, name="evaluation-sign"
    ),
    path(
        "evaluations/<int:evaluation_id>/addenda/new/", evaluation.addendum_new, name="addendum-new"
    ),
    path(
        "evaluations/<int:evaluation_id>/override/", eligibility.override_new, name="override-new"
    ),
    path("evaluations/<int:evaluation_id>/plans/new/", plan.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", plan.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/sign/", plan.plan_sign, name="plan-sign"),
    path("plans/<int:plan_id>/discard/", plan.plan_discard, name="plan-discard"),
    path("plans/<int:plan_id>/reschedule/", plan.plan_reschedule, name="plan-reschedule"),
]
