from django.urls import path

from ketacare.measures import views

urlpatterns = [
    path("patients/<int:pk>/measures/", views.patient_measures, name="patient-measures"),
    path(
        "patients/<int:pk>/measures/<slug:instrument_id>/enter/",
        views.enter_response,
        name="measure-enter",
    ),
    path("patients/<int:pk>/measures/links/new/", views.send_link, name="measure-send-link"),
    path("patients/<int:pk>/measures/fhir/", views.export_fhir, name="measure-export-fhir"),
    path("patients/<int:pk>/measures/schedule/", views.assign, name="measure-assign"),
    path(
        "patients/<int:pk>/measures/schedule/<int:assignment_id>/end/",
        views.end_assignment,
        name="measure-assign-end",
    ),
    path("alerts/", views.alert_dashboard, name="alert-dashboard"),
    path("alerts/<int:alert_id>/acknowledge/", views.acknowledge_alert, name="alert-acknowledge"),
    path("q/<str:token>/", views.patient_link, name="patient-link"),
]
