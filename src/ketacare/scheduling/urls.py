from django.urls import path

from ketacare.scheduling import views

urlpatterns = [
    path("schedule/", views.day_page, name="schedule-day"),
]
