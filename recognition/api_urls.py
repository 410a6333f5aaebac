from django.urls import path
from rest_framework.routers import DefaultRouter

from recognition.api import JobViewSet

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.register("jobs", JobViewSet, basename="job")
urlpatterns = [
    # Downloads are named like files, without the trailing slash of the other endpoints.
    path("jobs/<uuid:pk>/results.csv", JobViewSet.as_view({"get": "results_csv"}), name="job-results-csv"),
    path("jobs/<uuid:pk>/results.json", JobViewSet.as_view({"get": "results_json"}), name="job-results-json"),
    *router.urls,
]
