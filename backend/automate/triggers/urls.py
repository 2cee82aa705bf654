from django.urls import path

from automate.triggers import webhooks

app_name = "automate_hooks"

urlpatterns = [path("<slug:slug>/", webhooks.receive, name="receive")]
