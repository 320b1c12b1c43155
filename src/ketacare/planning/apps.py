from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "ketacare.planning"
    label = "planning"
