"""The connector kit: what a connector author uses in their own tests (stable, public).

.. code-block:: python

    from automate.testing import RecordingServer, assert_no_secret_leak, run_action, run_context

    def test_create_contact():
        with RecordingServer() as crm:
            crm.reply(201, {"id": "c_1"})
            with crm.allowed(), crm.as_base_url("example_crm"):
                output = run_action(
                    ExampleCRMConnector, "create_contact", {"email": "a@example.com"},
                    secrets={"CRM_TOKEN": "tok-123"},
                )
        assert output == {"id": "c_1"}
        assert crm.requests[0].headers["Authorization"] == "Bearer tok-123"
        assert_no_secret_leak(["tok-123"], output)

* ``run_context(**fields)``: an ``ExecutionContext`` as the worker builds it (secrets,
  tenant, run and node ids, attempt, timeout).
* ``run_action(connector, action, params, ...)``: run an action the way the orchestrator
  does (registered for the call, input validation, egress scope, output checks) and
  return its output; errors come out as ``ConnectorError``.
* ``RecordingServer``: a real HTTP server on ``127.0.0.1`` recording every request and
  answering with scripted replies; ``allowed()`` lets the outbound client reach it,
  ``as_base_url(code)`` points a connector's ``CONNECTOR_OPTIONS[code]["base_url"]`` at it.
* ``assert_no_secret_leak(secrets, *things)``: fails when a secret's value appears in an
  output, an exception (its message, details, notes, causes) or any text.
* ``signed_delivery`` / ``assert_verifies``: try a connector trigger's ``verify_webhook``.

Needs Django set up (``pytest-django`` with your project's settings, or the product's).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from automate.connectors.base import ConnectorAdapter, ExecutionContext
from automate.connectors.connector import Connector, adapter_for

__all__ = [
    "RecordedRequest",
    "RecordingServer",
    "Reply",
    "adapter",
    "assert_no_secret_leak",
    "assert_verifies",
    "run_action",
    "run_context",
]


def run_context(
    *,
    secrets: Mapping[str, str] | None = None,
    tenant: str = "default",
    run_id: str = "run-test",
    node_id: str = "step",
    attempt: int = 1,
    timeout_seconds: float = 30.0,
    idempotency_key: str = "",
) -> ExecutionContext:
    """An ``ExecutionContext`` like the worker's; ``secrets`` by name (resolved values)."""
    return ExecutionContext(
        secrets=dict(secrets or {}),
        tenant=tenant,
        run_id=run_id,
        node_id=node_id,
        attempt=attempt,
        timeout_seconds=timeout_seconds,
        idempotency_key=idempotency_key,
    )


def adapter(connector: type[ConnectorAdapter] | ConnectorAdapter | type[Connector]) -> Any:
    """The ``ConnectorAdapter`` instance for either connector style (as registered)."""
    if isinstance(connector, ConnectorAdapter):
        return connector
    if issubclass(connector, Connector):
        connector = adapter_for(connector)
    return connector()


def run_action(
    connector: type[ConnectorAdapter] | ConnectorAdapter | type[Connector],
    action: str,
    params: Mapping[str, Any],
    *,
    context: ExecutionContext | None = None,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``action`` as a workflow step would and return its output.

    The connector is registered for the call only (``automate.connectors.override``), the
    policy allowlist is checked, inputs are validated and the output checked; failures
    raise ``ConnectorError`` (``ConnectorInputError`` for bad inputs). ``secrets`` build a
    ``run_context`` when no ``context`` is given.
    """
    from automate.connectors import registry

    instance = adapter(connector)
    with registry.override(instance):
        return registry.run_action(
            instance.code, action, params, context or run_context(secrets=secrets)
        )


# ---------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------


def _texts(value: Any, where: str, seen: set[int]) -> Iterator[tuple[str, str]]:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, bytes):
        yield where, value.decode("utf-8", "replace")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(key, f"{where} key", seen)
            yield from _texts(item, f"{where}[{key!r}]", seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _texts(item, f"{where}[{index}]", seen)
    elif isinstance(value, BaseException):
        yield f"{where} (str)", str(value)
        yield f"{where} (repr)", repr(value)
        for name in ("message", "details", "__notes__"):
            if hasattr(value, name):
                yield from _texts(getattr(value, name), f"{where}.{name}", seen)
        for name in ("__cause__", "__context__"):
            linked = getattr(value, name)
            if linked is not None:
                yield from _texts(linked, f"{where}.{name}", seen)
    elif value is not None and not isinstance(value, int | float | bool):
        yield f"{where} (repr)", repr(value)


def assert_no_secret_leak(secrets: Any, *things: Any) -> None:
    """Fail (``AssertionError``) when any secret value appears in any of ``things``.

    ``secrets`` is a list of values or a ``{name: value}`` mapping (values are checked).
    ``things`` may be outputs (nested dicts and lists), exceptions (their text, repr,
    ``message``, ``details``, notes and the exceptions they were raised from), strings,
    bytes or anything with a ``repr``. The failure names where the secret was found, never
    the secret itself.
    """
    values = list(secrets.values()) if isinstance(secrets, Mapping) else list(secrets)
    values = [value for value in values if isinstance(value, str) and value]
    if not values:
        raise AssertionError("assert_no_secret_leak needs at least one non-empty secret value")
    for index, thing in enumerate(things):
        for where, text in _texts(thing, f"thing {index}", set()):
            for number, value in enumerate(values):
                if value in text:
                    raise AssertionError(f"secret #{number} appears in {where}")


# ---------------------------------------------------------------------------------------
# Webhook triggers
# ---------------------------------------------------------------------------------------


def assert_verifies(
    connector: type[ConnectorAdapter] | ConnectorAdapter | type[Connector],
    trigger: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    secret: str,
    now: float | None = None,
    expected: bool = True,
) -> None:
    """Fail unless the connector's ``verify_webhook`` answers ``expected`` for a delivery."""
    answer = adapter(connector).verify_webhook(
        headers, raw_body, secret=secret, trigger=trigger, now=time.time() if now is None else now
    )
    if answer is not expected:
        raise AssertionError(
            f"verify_webhook({trigger!r}) answered {answer!r}, expected {expected!r}"
        )


# ---------------------------------------------------------------------------------------
# RecordingServer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: method, path (with query), headers, raw body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """A scripted answer: status, a JSON value (or raw ``body``), extra headers, a delay."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0

    def content(self) -> tuple[bytes, str]:
        if self.body is not None:
            return self.body, "application/octet-stream"
        return json.dumps({} if self.json is None else self.json).encode(), "application/json"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        reply = owner._record(RecordedRequest(self.command, self.path, dict(self.headers), body))
        if reply.delay_seconds:
            time.sleep(reply.delay_seconds)
        content, content_type = reply.content()
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: RecordingServer


class RecordingServer:
    """A local HTTP server (``127.0.0.1``, a free port) for a connector's tests.

    Use it as a context manager. Every request is recorded in ``requests``
    (``RecordedRequest``); each is answered with the next scripted ``reply(...)``, or with
    ``200 {}`` once the script is used up (``default`` changes that). ``url`` is
    ``http://127.0.0.1:<port>``.
    """

    def __init__(self, *, default: Reply | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.default = default or Reply()
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url = ""

    def reply(self, status: int = 200, json: Any = None, **kwargs: Any) -> RecordingServer:
        """Script the next answer (``Reply`` fields); returns the server, to chain."""
        with self._lock:
            self._script.append(Reply(status=status, json=json, **kwargs))
        return self

    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._script.pop(0) if self._script else self.default

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (still readable after the server stopped)."""
        if not self._url:
            raise RuntimeError("the RecordingServer has not started: use it in a with block")
        return self._url

    def __enter__(self) -> RecordingServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @contextmanager
    def allowed(self) -> Iterator[None]:
        """Let the SSRF-safe client reach ``127.0.0.1`` (``POLICY.http_allowlist``)."""
        from django.conf import settings
        from django.test import override_settings

        current = dict(getattr(settings, "DJANGO_AUTOMATE", {}) or {})
        policy = dict(current.get("POLICY") or {})
        policy["http_allowlist"] = [*(policy.get("http_allowlist") or []), "127.0.0.1"]
        with override_settings(DJANGO_AUTOMATE={**current, "POLICY": policy}):
            yield

    @contextmanager
    def as_base_url(self, code: str, key: str = "base_url") -> Iterator[None]:
        """Set ``CONNECTOR_OPTIONS[code][key]`` to this server's ``url`` for the block."""
        from django.conf import settings
        from django.test import override_settings

        current = dict(getattr(settings, "DJANGO_AUTOMATE", {}) or {})
        options = dict(current.get("CONNECTOR_OPTIONS") or {})
        options[code] = {**(options.get(code) or {}), key: self.url}
        with override_settings(DJANGO_AUTOMATE={**current, "CONNECTOR_OPTIONS": options}):
            yield
