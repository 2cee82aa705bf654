"""Websocket routes of the studio (the live Execution Explorer attaches here)."""

from typing import Any

websocket_urlpatterns: list[Any] = []
