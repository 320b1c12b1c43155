from django.urls import path

from ketacare.scheduling import book_one_views, booking_views, calendar_views, setup_views, views

urlpatterns = [
    path("schedule/", views.day_page, name="schedule-day"),
    path("schedule/tomorrow/", booking_views.day_checklist, name="schedule-checklist"),
    path("schedule/new/", book_one_views.appointment_new, name="appointment-new"),
    path("schedule/plans/<int:plan_id>/book/", booking_views.plan_book, name="plan-book"),
    path(
        "schedule/appointments/<int:appointment_id>/",
        booking_views.appointment_detail,
        name="appointment-detail",
    ),
    path(
        "schedule/appointments/<int:appointment_id>/move/",
        booking_views.appointment_move,
        name="appointment-move",
    ),
    path(
        "schedule/appointments/<int:appointment_id>/state/",
        booking_views.appointment_state,
        name="appointment-state",
    ),
    path(
        "schedule/appointments/<int:appointment_id>/transport/",
        booking_views.appointment_transport,
        name="appointment-transport",
    ),
    path("schedule/week/", calendar_views.week_page, name="schedule-week"),
    path(
        "schedule/staff/<int:staff_id>/",
        calendar_views.staff_week_page,
        name="schedule-staff-week",
    ),
    path("schedule/my-feed/", calendar_views.feed_page, name="schedule-feed-page"),
    path("schedule/feed/<str:token>.ics", calendar_views.feed, name="schedule-feed"),
    path("schedule/setup/", setup_views.setup_page, name="schedule-setup"),
    path("schedule/rota/", setup_views.rota_page, name="schedule-rota"),
    path(
        "schedule/patients/<int:pk>/authorisations/",
        setup_views.patient_authorisations,
        name="patient-authorisations",
    ),
]
