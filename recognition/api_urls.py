from rest_framework.routers import DefaultRouter

from recognition.api import JobViewSet

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.register("jobs", JobViewSet, basename="job")
urlpatterns = router.urls
