from django.urls import path

from learning import views

app_name = "learning"
urlpatterns = [path("models/", views.models_page, name="models")]
