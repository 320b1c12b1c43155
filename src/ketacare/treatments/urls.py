from django.urls import path

from ketacare.treatments import views

urlpatterns = [
    path("board/", views.board, name="chair-board"),
    path("board/open/", views.session_open, name="session-open"),
    path("sessions/<int:session_id>/", views.session_detail, name="session-detail"),
    path("sessions/<int:session_id>/check-in/", views.check_in, name="session-check-in"),
    path(
        "sessions/<int:session_id>/observations/",
        views.observation_new,
        name="session-observation",
    ),
    path(
        "sessions/<int:session_id>/gate-override/",
        views.gate_override,
        name="session-gate-override",
    ),
    path("sessions/<int:session_id>/dose/", views.dose_start, name="session-dose"),
    path("sessions/<int:session_id>/device/", views.device_next, name="session-device"),
    path("sessions/<int:session_id>/pump/", views.pump_step, name="session-pump"),
    path(
        "sessions/<int:session_id>/adverse-events/",
        views.adverse_event_new,
        name="session-adverse-event",
    ),
    path("sessions/<int:session_id>/discharge/", views.discharge, name="session-discharge"),
    path("sessions/<int:session_id>/transfer/", views.transfer, name="session-transfer"),
    path(
        "session-alerts/<int:session_alert_id>/acknowledge/",
        views.alert_acknowledge,
        name="session-alert-acknowledge",
    ),
]
