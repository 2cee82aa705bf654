"""The development site with the ``db`` secrets backend, so the studio can store a
webhook's signing secret (the default ``env`` backend is read-only)."""

from config.settings import *  # noqa: F403
from config.settings import DJANGO_AUTOMATE

DJANGO_AUTOMATE["SECRETS"] = {"backend": "db"}
