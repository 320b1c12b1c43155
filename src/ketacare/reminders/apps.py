from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "ketacare.reminders"
    label = "reminders"
