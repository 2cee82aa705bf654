"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

    @pytest.fixture
    def fake_openai():
        with running_fake_openai() as fake:
            yield fake

    def test_something(fake_openai):
        fake_openai.script(answer={"definition": ...})   # the next answer, in order
        fake_openai.script(status=429, headers={"Retry-After": "7"})
        ... call the code under test with base_url=fake_openai.base_url ...
        fake_openai.requests[0]["json"]["messages"]

Each ``script(...)`` queues one answer; every POST to ``/v1/chat/completions`` takes the
next one. An entry may hold:

* ``answer``: a JSON value, given back the way the request asked for it: as the
  arguments of a call to the request's forced tool when it offered ``tools``, else as the
  message content (``response_format`` json_schema or plain);
* ``content``: the message content as it is (malformed JSON, fenced JSON...);
* ``refusal``: a refusal (``message.refusal``, as OpenAI's structured outputs give it);
* ``finish_reason``: e.g. ``"content_filter"`` or ``"length"`` (default ``"stop"``);
* ``status`` / ``error`` / ``headers``: an HTTP error with ``{"error": {"message": ...}}``;
* ``body``: the JSON body as it is, instead of a completion or an error;
* ``model``: the model the completion reports (default the request's; ``{model}`` in it
  stands for the request's, e.g. ``"{model}-2024-07-18"``);
* ``delay``: seconds to wait before answering (a timeout test);
* ``usage``: the reported usage (default 100 prompt / 50 completion tokens; ``None``
  reports none; ``"echo"`` reports what a client estimates: a token per four characters
  of the messages' content, and ``max_tokens`` completion tokens).

``reject_response_format`` / ``reject_tools`` make the server answer HTTP 400 ("not
supported") to any request using them, before taking an entry: a server without
structured output. With an empty script the server answers with ``default`` (an entry
that answers every request the script does not), or HTTP 500 when that is ``None``.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_UNSET: Any = object()


class FakeOpenAI(ThreadingHTTPServer):
    """See the module docstring."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.reject_response_format = False
        self.reject_tools = False
        self.default: dict[str, Any] | None = None
        self.stopping = threading.Event()
        self._script: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def script(self, **entry: Any) -> FakeOpenAI:
        """Queue the next answer (keys as in the module docstring)."""
        with self._lock:
            self._script.append(entry)
        return self

    @property
    def remaining(self) -> int:
        """Scripted answers not taken yet."""
        with self._lock:
            return len(self._script)

    def take(self, request: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any], float]:
        """``(status, headers, body, delay)`` for ``request``."""
        if self.reject_response_format and "response_format" in request:
            return 400, {}, _error("response_format json_schema is not supported by this server"), 0
        if self.reject_tools and "tools" in request:
            return 400, {}, _error("tools are not supported by this model"), 0
        with self._lock:
            entry = self._script.popleft() if self._script else self.default
        if entry is None:
            return 500, {}, _error("the fake server has no scripted answer left"), 0
        delay = float(entry.get("delay", 0))
        status = int(entry.get("status", 200))
        if "body" in entry:
            body = entry["body"]
        elif status != 200:
            body = _error(entry.get("error", f"scripted HTTP {status}"))
        else:
            body = _completion(request, entry)
        return status, dict(entry.get("headers", {})), body, delay


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}


def _completion(request: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if "answer" in entry:
        text = json.dumps(entry["answer"])
        tool_choice = request.get("tool_choice")
        if request.get("tools"):
            name = (
                tool_choice["function"]["name"]
                if isinstance(tool_choice, dict)
                else request["tools"][0]["function"]["name"]
            )
            message["tool_calls"] = [
                {
                    "id": f"call_{len(request['messages'])}",
                    "type": "function",
                    "function": {"name": name, "arguments": text},
                }
            ]
        else:
            message["content"] = text
    if "content" in entry:
        message["content"] = entry["content"]
    if "refusal" in entry:
        message["refusal"] = entry["refusal"]
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(entry.get("model", "{model}")).replace("{model}", request.get("model", "")),
        "choices": [
            {"index": 0, "message": message, "finish_reason": entry.get("finish_reason", "stop")}
        ],
    }
    usage = entry.get("usage", _UNSET)
    if usage is _UNSET:
        usage = {"prompt_tokens": 100, "completion_tokens": 50}
    elif usage == "echo":
        characters = sum(len(m.get("content") or "") for m in request.get("messages", []))
        usage = {
            "prompt_tokens": math.ceil(characters / 4),
            "completion_tokens": request.get("max_tokens", 0),
        }
    if usage is not None:
        body["usage"] = {**usage, "total_tokens": sum(usage.values())}
    return body


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        with self.server._lock:
            self.server.requests.append(
                {
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "json": request,
                }
            )
        status, headers, body, delay = self.server.take(request)
        if delay:
            self.server.stopping.wait(delay)
        payload = json.dumps(body).encode()
        # The client may have given up waiting (a timeout test): nobody to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    """A started ``FakeOpenAI``, shut down on exit."""
    fake = FakeOpenAI()
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        fake.shutdown()
        fake.server_close()
        thread.join(timeout=5)
