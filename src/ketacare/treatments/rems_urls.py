from django.urls import path

from ketacare.treatments import rems_views as views

urlpatterns = [
    path("", views.dashboard, name="rems-dashboard"),
    path("sessions/<int:session_id>/", views.form, name="rems-form"),
]
