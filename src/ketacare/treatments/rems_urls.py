from django.urls import path

from ketacare.treatments.views import rems

urlpatterns = [
    path("", rems.dashboard, name="rems-dashboard"),
    path("sessions/<int:session_id>/", rems.form, name="rems-form"),
]
