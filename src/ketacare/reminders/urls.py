from django.urls import path

from ketacare.reminders import views

urlpatterns = [
    path("reminders/", views.delivery_log, name="reminder-log"),
    path("reminders/settings/", views.reminder_settings, name="reminder-settings"),
    path("reminders/sms/inbound/", views.inbound_sms, name="reminder-inbound-sms"),
    path("r/<str:token>/", views.appointment_link, name="appointment-link"),
]
