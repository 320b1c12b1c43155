from django.urls import path

from ketacare.referrals import staff_views, views

urlpatterns = [
    path("start/<int:clinic_id>/", views.start, name="referral-start"),
    path("start/<int:clinic_id>/details/", views.details, name="referral-details"),
    path("start/<int:clinic_id>/call-me/", views.callback, name="referral-callback"),
    path(
        "alerts/referrals/<int:referral_alert_id>/handoff/",
        staff_views.record_handoff,
        name="referral-alert-handoff",
    ),
]
