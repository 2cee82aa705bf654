from django.urls import path

from automate.api import views

app_name = "automate_api"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("events/", views.emit, name="events"),
]
