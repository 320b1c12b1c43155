from django.urls import path

from ketacare.patients import views

urlpatterns = [
    path("", views.patient_list, name="patient-list"),
    path("new/", views.patient_new, name="patient-new"),
    path("<int:pk>/", views.patient_chart, name="patient-chart"),
    path("<int:pk>/edit/", views.patient_edit, name="patient-edit"),
    path("<int:pk>/measurements/new/", views.measurement_new, name="measurement-new"),
    path("<int:pk>/consents/new/", views.consent_new, name="consent-new"),
    path("<int:pk>/consents/<int:consent_id>/", views.consent_detail, name="consent-detail"),
]
