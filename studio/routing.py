"""Websocket routes of the studio: the live Execution Explorer."""

from typing import Any

from django.urls import path

from studio import consumers

websocket_urlpatterns: list[Any] = [
    path("ws/runs/", consumers.RunsConsumer.as_asgi()),
    path("ws/runs/<uuid:run_id>/", consumers.RunConsumer.as_asgi()),
]
