from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from recognition import monitoring

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", monitoring.healthz, name="healthz"),
    path("metrics", monitoring.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("api/", include("recognition.api_urls")),
    path("api/", include("learning.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("learning.urls")),
    path("", include("recognition.urls")),
]
handler404 = "recognition.views.not_found"
