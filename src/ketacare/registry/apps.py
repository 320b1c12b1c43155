from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "ketacare.registry"
    label = "registry"
