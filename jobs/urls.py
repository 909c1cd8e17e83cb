from django.urls import path

from . import apis

urlpatterns = [
    path("jobs", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<uuid:job_id>", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel", apis.JobCancelApi.as_view(), name="job-cancel"),
]
