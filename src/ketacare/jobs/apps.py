from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "ketacare.jobs"
    label = "jobs"
