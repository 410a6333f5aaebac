from django.urls import path
from rest_framework.routers import DefaultRouter

from recognition.api import JobViewSet

app_name = "api"

# Path converters, not regexes: a job id that is not a UUID matches no route and is a 404 like on the pages.
router = DefaultRouter(trailing_slash=True, use_regex_path=False)
router.include_format_suffixes = False  # /api/jobs.json and the like: undocumented, and the views took no `format`
router.register("jobs", JobViewSet, basename="job")
urlpatterns = [
    # Downloads are named like files, without the trailing slash of the other endpoints.
    path("jobs/<uuid:pk>/results.csv", JobViewSet.as_view({"get": "results_csv"}), name="job-results-csv"),
    path("jobs/<uuid:pk>/results.json", JobViewSet.as_view({"get": "results_json"}), name="job-results-json"),
    *router.urls,
]
