from django.urls import path

from ketacare.planning import views

urlpatterns = [
    path("planning/", views.worklist, name="planning-worklist"),
    path("planning/rules/", views.rule_list, name="rule-list"),
    path("planning/rules/<str:rule_id>/", views.rule_edit, name="rule-edit"),
    path("patients/<int:pk>/planning/", views.patient_planning, name="patient-planning"),
    path("patients/<int:pk>/evaluations/new/", views.evaluation_new, name="evaluation-new"),
    path("evaluations/<int:evaluation_id>/", views.evaluation_detail, name="evaluation-detail"),
    path("evaluations/<int:evaluation_id>/edit/", views.evaluation_edit, name="evaluation-edit"),
    path(
        "evaluations/<int:evaluation_id>/complete/",
        views.evaluation_complete,
        name="evaluation-complete",
    ),
    path("evaluations/<int:evaluation_id>/sign/", views.evaluation_sign, name="evaluation-sign"),
    path("evaluations/<int:evaluation_id>/addenda/new/", views.addendum_new, name="addendum-new"),
    path("evaluations/<int:evaluation_id>/override/", views.override_new, name="override-new"),
    path("evaluations/<int:evaluation_id>/plans/new/", views.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/sign/", views.plan_sign, name="plan-sign"),
    path("plans/<int:plan_id>/discard/", views.plan_discard, name="plan-discard"),
    path("plans/<int:plan_id>/reschedule/", views.plan_reschedule, name="plan-reschedule"),
]
