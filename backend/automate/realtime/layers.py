"""The Channels layer configuration for several server processes (channels-redis).

``redis_channel_layer(url)`` returns one ``CHANNEL_LAYERS["default"]`` entry. Use it instead
of a bare ``{"hosts": [url]}``: channels-redis waits for a websocket's next message with a
blocking Redis read of ``RedisChannelLayer.brpop_timeout`` (5 s), and redis-py's default
socket timeout is also 5 s, so with the bare form every idle page loses its websocket about
every 5.5 s (close 1011 and a "Timeout reading from …" traceback in daphne). The socket
timeout here is longer than that blocking read, and is still finite, so a Redis that stops
answering is noticed.

The standalone site (``config.settings``) builds its layer with this function from the
``AUTOMATE_CHANNEL_LAYER_*`` environment variables (docs/reference/settings.md).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: channels-redis's blocking read, in seconds (``RedisChannelLayer.brpop_timeout``).
BLOCKING_READ_SECONDS = 5.0

DEFAULTS: dict[str, Any] = {
    "socket_timeout": 30.0,
    "prefix": "asgi",
    "capacity": 100,
    "expiry": 60,
    "group_expiry": 86400,
}


def redis_channel_layer(
    url: str,
    *,
    socket_timeout: float = DEFAULTS["socket_timeout"],
    prefix: str = DEFAULTS["prefix"],
    capacity: int = DEFAULTS["capacity"],
    expiry: int = DEFAULTS["expiry"],
    group_expiry: int = DEFAULTS["group_expiry"],
) -> dict[str, Any]:
    """One ``CHANNEL_LAYERS`` entry for channels-redis at ``url`` (``redis://host:port/db``).

    - ``socket_timeout``: seconds a Redis read or write may take; must be more than the
      layer's 5 s blocking read (``ImproperlyConfigured`` otherwise).
    - ``prefix``: the key prefix of channels and groups (keeps sites sharing a Redis apart).
    - ``capacity``: messages a channel holds before sends to it fail (``ChannelFull``).
    - ``expiry``: seconds an undelivered message lives; ``group_expiry``: seconds a group
      membership lives (a page that stays open longer is re-added when it reconnects).

    Raises ``ImproperlyConfigured`` naming the option for a value out of range.
    """
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"The channel layer's Redis URL must start with redis://, rediss:// or unix://, "
            f"not {url.split(':', 1)[0]!r}."
        )
    if not socket_timeout > BLOCKING_READ_SECONDS:
        raise ImproperlyConfigured(
            f"The channel layer's socket_timeout ({socket_timeout} s) must be longer than its "
            f"{BLOCKING_READ_SECONDS:g} s blocking read, or idle websockets are closed."
        )
    counts = {"capacity": capacity, "expiry": expiry, "group_expiry": group_expiry}
    for name, value in counts.items():
        if value < 1:
            raise ImproperlyConfigured(
                f"The channel layer's {name} must be at least 1, not {value}."
            )
    if not prefix:
        raise ImproperlyConfigured("The channel layer's prefix must not be empty.")
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": url, "socket_timeout": float(socket_timeout)}],
            "prefix": prefix,
            "capacity": capacity,
            "expiry": expiry,
            "group_expiry": group_expiry,
        },
    }
