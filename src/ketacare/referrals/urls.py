from django.urls import path

from ketacare.referrals import provider_views, queue_views, staff_views, views

urlpatterns = [
    path("start/<int:clinic_id>/", views.start, name="referral-start"),
    path("start/<int:clinic_id>/details/", views.details, name="referral-details"),
    path("start/<int:clinic_id>/call-me/", views.callback, name="referral-callback"),
    path(
        "start/<int:clinic_id>/provider/",
        provider_views.provider_referral,
        name="referral-provider",
    ),
    path(
        "alerts/referrals/<int:referral_alert_id>/handoff/",
        staff_views.record_handoff,
        name="referral-alert-handoff",
    ),
    path("intake/", queue_views.intake_queue, name="intake-queue"),
    path("intake/<int:referral_id>/", queue_views.referral_detail, name="referral-detail"),
    path("intake/<int:referral_id>/contact/", queue_views.log_contact, name="referral-contact"),
    path("intake/<int:referral_id>/close/", queue_views.close, name="referral-close"),
    path("intake/<int:referral_id>/accept/", queue_views.accept, name="referral-accept"),
    path(
        "intake/<int:referral_id>/letter/",
        provider_views.download_letter,
        name="referral-letter",
    ),
]
