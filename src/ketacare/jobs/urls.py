from django.urls import path

from ketacare.jobs import views

urlpatterns = [
    path("jobs/failed/", views.failed_jobs_page, name="failed-jobs"),
]
