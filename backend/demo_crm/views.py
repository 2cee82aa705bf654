"""A Slack sandbox for the demo site (``make run``): speaks ``chat.postMessage``.

It is mounted only when DEBUG is on, so the demo workflow's Slack step has somewhere real to
post without an internet connection or a Slack workspace. Like Slack on a busy day, it
rate-limits the first delivery of each message (HTTP 429, ``Retry-After: 1``), so the demo
shows a retry with backoff.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from automate.guard.http import guarded, json_body
from demo_crm.models import SandboxSlackMessage


@guarded("json")
@csrf_exempt
@require_POST
def chat_post_message(request: HttpRequest) -> JsonResponse:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer xox"):
        return JsonResponse({"ok": False, "error": "not_authed"})
    body = json_body(request)  # the input guard: bad JSON is a 400 in the error shape
    if not isinstance(body, dict):
        return JsonResponse({"ok": False, "error": "invalid_json"})
    channel, text = body.get("channel"), body.get("text")
    if not channel:
        return JsonResponse({"ok": False, "error": "channel_not_found"})
    if not text and not body.get("blocks"):
        return JsonResponse({"ok": False, "error": "no_text"})
    key = "slack-sandbox:" + hashlib.sha256(f"{channel}\n{text}".encode()).hexdigest()
    if cache.add(key, 1, timeout=3600):
        response = JsonResponse({"ok": False, "error": "ratelimited"}, status=429)
        response["Retry-After"] = "1"
        return response
    ts = f"{time.time():.6f}"
    SandboxSlackMessage.objects.create(channel=channel, text=text or "", ts=ts)
    return JsonResponse({"ok": True, "channel": channel, "ts": ts, "message": {"text": text}})
