from django.urls import path

from ketacare.portal import (
    consent_views,
    home_views,
    message_views,
    record_views,
    signin_views,
    staff_views,
)

urlpatterns = [
    path("portal/", home_views.home, name="portal-home"),
    path("portal/welcome/", signin_views.start, name="portal-start"),
    path("portal/clinic/<int:clinic_id>/", signin_views.sign_in, name="portal-sign-in"),
    path("portal/clinic/<int:clinic_id>/code/", signin_views.code, name="portal-code"),
    path("portal/sign-out/", signin_views.sign_out, name="portal-sign-out"),
    path("portal/language/", signin_views.choose_language, name="portal-language"),
    path("portal/questionnaires/<slug:instrument_id>/", home_views.answer, name="portal-answer"),
    path(
        "portal/appointments/<int:appointment_id>/confirm/",
        home_views.confirm,
        name="portal-confirm",
    ),
    path("portal/scores/", record_views.scores, name="portal-scores"),
    path("portal/record/download/", record_views.download, name="portal-download"),
    path("portal/consents/", consent_views.consent_list, name="portal-consents"),
    path("portal/consents/<slug:kind>/", consent_views.consent_sign, name="portal-consent"),
    path("portal/messages/", message_views.messages_page, name="portal-messages"),
    path(
        "portal/appointments/<int:appointment_id>/change/",
        message_views.change_appointment,
        name="portal-change-appointment",
    ),
    # The clinic's side: the inbox, and the reply from the chart.
    path("messages/", staff_views.inbox, name="message-inbox"),
    path("patients/<int:pk>/messages/reply/", staff_views.reply, name="message-reply"),
]
