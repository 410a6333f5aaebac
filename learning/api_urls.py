from django.urls import path
from rest_framework.routers import DefaultRouter

from learning.api import FineTuneStartView, FineTuneViewSet, ModelVersionViewSet

app_name = "learning-api"

router = DefaultRouter(trailing_slash=True, use_regex_path=False)
router.include_root_view = False
router.include_format_suffixes = False
router.register("models/fine-tunes", FineTuneViewSet, basename="fine-tune")
router.register("models", ModelVersionViewSet, basename="model-version")
urlpatterns = [
    path("models/fine-tune/", FineTuneStartView.as_view(), name="fine-tune-start"),
    *router.urls,
]
