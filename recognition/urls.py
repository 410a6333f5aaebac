from django.urls import path

from recognition import views

app_name = "recognition"

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job"),
    path("jobs/<uuid:job_id>/images/<int:image_id>/thumbnail.png", views.thumbnail, name="thumbnail"),
]
