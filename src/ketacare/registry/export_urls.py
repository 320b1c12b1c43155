from django.urls import path

from ketacare.registry import export_views as views

urlpatterns = [
    path("", views.research_export, name="registry-export"),
]
