from django.urls import path

from ketacare.registry import views

urlpatterns = [
    path("registry/", views.dashboard, name="registry-dashboard"),
    path("registry/patients/<slug:step>/", views.step_patients, name="registry-patients"),
]
