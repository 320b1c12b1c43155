from django.urls import path

from ketacare.treatments.views import board, session, steps

urlpatterns = [
    path("board/", board.board, name="chair-board"),
    path("board/open/", board.session_open, name="session-open"),
    path("sessions/<int:session_id>/", session.session_detail, name="session-detail"),
    path("sessions/<int:session_id>/check-in/", steps.check_in, name="session-check-in"),
    path(
        "sessions/<int:session_id>/observations/",
        steps.observation_new,
        name="session-observation",
    ),
    path(
        "sessions/<int:session_id>/gate-override/",
        steps.gate_override,
        name="session-gate-override",
    ),
    path("sessions/<int:session_id>/dose/", steps.dose_start, name="session-dose"),
    path("sessions/<int:session_id>/device/", steps.device_next, name="session-device"),
    path("sessions/<int:session_id>/pump/", steps.pump_step, name="session-pump"),
    path(
        "sessions/<int:session_id>/adverse-events/",
        steps.adverse_event_new,
        name="session-adverse-event",
    ),
    path("sessions/<int:session_id>/discharge/", steps.discharge, name="session-discharge"),
    path("sessions/<int:session_id>/transfer/", steps.transfer, name="session-transfer"),
    path(
        "session-alerts/<int:session_alert_id>/acknowledge/",
        steps.alert_acknowledge,
        name="session-alert-acknowledge",
    ),
]
