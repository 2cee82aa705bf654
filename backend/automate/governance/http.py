"""The one outbound HTTP client of Django Automate, safe against server-side request forgery.

Every connector that speaks HTTP uses ``safe_request`` (one call) or ``build_client`` (an
``httpx.Client`` for several calls). What they guarantee:

* **Every request is checked** against the egress allowlist
  (``automate.governance.egress.check_egress``: the site's and the current step's
  tenant's; a refusal is audited and raises ``EgressNotAllowed``) and then by
  ``automate.policy.check_host`` before it is sent, redirects included: each hop is a new
  request through the same transport, so a public URL that redirects to
  ``http://169.254.169.254/`` or to a host off the allowlist is refused.
* **The connection goes to the address that was checked.** The transport resolves and
  checks the host, then its network backend opens the TCP connection to one of the
  checked IP addresses; the name is never resolved a second time, so DNS rebinding (a
  public answer for the check, ``127.0.0.1`` for the connection) has nothing to swap.
  The ``Host`` header, TLS SNI and certificate verification still use the host name.
* **Environment proxies are ignored** (``trust_env=False``): ``HTTP_PROXY`` cannot route
  requests around the checks.
* **Bounded**: a total deadline (``timeout`` covers connecting, redirects, sending and
  reading the body; each network operation waits at most the time left) and a response
  size cap (``max_response_bytes``, counted on the wire and after decompression).
* **Traced**: ``User-Agent: django-automate/<version>`` and, with a ``trace_id``, a W3C
  ``traceparent`` header.

``safe_request`` also turns failures into ``ConnectorError``\\s the worker understands:
connection errors, timeouts, HTTP 429 and 5xx are retryable (``retry_after`` from
``Retry-After``), other 4xx are not, and ``PolicyViolation`` stays what it is. See
docs/howto/outbound-http.md.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import math
import ssl
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpcore
import httpx

from automate import __version__
from automate.compat import UTC
from automate.connectors.exceptions import ConnectorError
from automate.governance.egress import EgressNotAllowed, check_egress, record_refusal
from automate.governance.policy import HostResolutionError, PolicyViolation, check_host
from automate.governance.redaction import redact_text
from automate.governance.url_text import shown_url
from automate.guard.parse import is_whole_number
from automate.observability.tracing import format_traceparent

__all__ = [
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "PinnedNetworkBackend",
    "ResponseTooLargeError",
    "SafeClient",
    "SafeTransport",
    "build_client",
    "check_status",
    "error_for_status",
    "parse_retry_after",
    "safe_request",
    "transport_error",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 10_000_000
DEFAULT_MAX_REDIRECTS = 5
USER_AGENT = f"django-automate/{__version__}"

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A Retry-After beyond a day is treated as a day: the job is retried, not forgotten.
_MAX_RETRY_AFTER = 86_400.0
_ERROR_EXCERPT_CHARS = 500
# httpx's own defaults.
_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

ErrorT = TypeVar("ErrorT", bound=BaseException)


class ResponseTooLargeError(ConnectorError):
    """The response body is larger than ``max_response_bytes`` (not retryable)."""

    code = "response_too_large"


# ---------------------------------------------------------------------------------------
# Per-request state shared between the transport and the network backend
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pin:
    host: str
    port: int
    addresses: tuple[str, ...]


# Set by SafeTransport around one request, read by PinnedNetworkBackend.connect_tcp,
# which httpcore's sync pool calls in the same thread and context.
_pinned_target: ContextVar[_Pin | None] = ContextVar("automate_http_pin", default=None)
# A time.monotonic() value: no network operation of the current request may wait past it.
_request_deadline: ContextVar[float | None] = ContextVar("automate_http_deadline", default=None)
# True while a SafeClient is sending: httpx's own log line is then cut down to the origin.
_sending: ContextVar[bool] = ContextVar("automate_http_sending", default=False)


class _OriginOnlyLogFilter(logging.Filter):
    """Shorten httpx's "HTTP Request: GET <url>" records of our clients to the origin.

    Paths and queries carry secrets (Slack webhook URLs, ``?api_key=``); the records of
    other httpx users in the process are left alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            _sending.get()
            and isinstance(args, tuple)
            and len(args) >= 2
            and isinstance(args[1], httpx.URL)
        ):
            record.args = (args[0], _origin(args[1]), *args[2:])
        return True


_LOG_FILTER = _OriginOnlyLogFilter()
logging.getLogger("httpx").addFilter(_LOG_FILTER)


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    deadline = _request_deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("The request took longer than its total timeout.")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes never wait past the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to addresses the policy checked.

    ``connect_tcp(host, port)`` ignores what ``host`` would resolve to now and connects
    to the addresses ``SafeTransport`` checked for this very request (trying each in
    turn), through ``inner`` (``httpcore.SyncBackend()`` by default). A connection
    nobody checked (no pinned target, or one for another host) is refused. TLS is
    started by httpcore on the returned stream with the original host name as SNI and
    for certificate verification.
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        pin = _pinned_target.get()
        if pin is None or pin.host != host or pin.port != port:
            raise httpcore.ConnectError(
                f"Refusing to connect to {host}:{port}: the outbound policy did not check it."
            )
        options = list(socket_options) if socket_options is not None else None
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in pin.addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_bounded(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        assert failure is not None  # a ParsedTarget always has at least one address
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("Outbound requests cannot use Unix sockets.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# ---------------------------------------------------------------------------------------
# Transport and client
# ---------------------------------------------------------------------------------------


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes milliseconds; one verified context serves every client.
    return httpx.create_ssl_context(verify=True, trust_env=False)


class _CappedStream(httpx.SyncByteStream):
    """A response body that raises ``ResponseTooLargeError`` past ``limit`` wire bytes."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int, url: httpx.URL) -> None:
        self._inner = inner
        self._limit = limit
        self._url = url

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._limit:
                raise _too_large(self._url, self._limit)
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _too_large(url: httpx.URL, limit: int) -> ResponseTooLargeError:
    shown = shown_url(url)
    return ResponseTooLargeError(
        f"The response from {shown} is larger than {limit} bytes.",
        details={"url": shown, "max_response_bytes": limit},
    )


def _origin(url: httpx.URL) -> str:
    # Scheme, host and port only: paths and queries can hold tokens (Slack webhook URLs).
    host = url.host
    if ":" in host:
        host = f"[{host}]"
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{host}{port}"


class SafeTransport(httpx.HTTPTransport):
    """An ``httpx`` transport that checks every request and connects to the checked IP.

    ``max_response_bytes`` caps each response body as received on the wire;
    ``verify`` is an ``ssl.SSLContext`` (default: certifi's CA bundle, hostname checked);
    ``network_backend`` is the httpcore backend that opens sockets (wrapped by
    ``PinnedNetworkBackend``; replace it in tests to see where connections go).
    """

    def __init__(
        self,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        verify: ssl.SSLContext | None = None,
        network_backend: httpcore.NetworkBackend | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        ssl_context = verify if verify is not None else _default_ssl_context()
        limits = limits if limits is not None else _DEFAULT_LIMITS
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self.max_response_bytes = max_response_bytes
        self.network_backend = PinnedNetworkBackend(network_backend)
        # The pool HTTPTransport built, rebuilt with the pinning backend (nothing has
        # been opened yet, so nothing leaks).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self.network_backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check ``request.url`` with the outbound policy, then send it pinned."""
        url = request.url
        host = url.raw_host.decode("ascii")
        try:
            # The egress allowlist first (no DNS needed), then the SSRF rules on top.
            check_egress(host, port=url.port, scheme=url.scheme)
        except EgressNotAllowed as exc:
            record_refusal(exc)
            raise
        try:
            target = check_host(host, scheme=url.scheme, port=url.port)
        except HostResolutionError as exc:
            # What httpx raises for an unresolvable name; the cause keeps the detail.
            raise httpx.ConnectError(exc.message, request=request) from exc
        port = url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]
        token = _pinned_target.set(_Pin(host, port, target.addresses))
        try:
            response = super().handle_request(request)
        finally:
            _pinned_target.reset(token)
        declared = response.headers.get("Content-Length", "")
        if is_whole_number(declared) and int(declared) > self.max_response_bytes:
            response.close()
            raise _too_large(url, self.max_response_bytes)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CappedStream(response.stream, self.max_response_bytes, url),
            extensions=response.extensions,
        )


class SafeClient(httpx.Client):
    """The ``httpx.Client`` ``build_client`` returns: a total deadline and a size cap.

    Unless ``stream=True``, ``send`` reads the body itself, decompressed, stopping with
    ``ResponseTooLargeError`` past ``max_response_bytes``, and the whole request
    (redirects and body included) must finish within ``total_timeout`` seconds. Streamed
    responses are capped on the wire by the transport; their reads are bounded only by
    the per-operation timeouts.
    """

    def __init__(
        self, *, max_response_bytes: int, total_timeout: float | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.max_response_bytes = max_response_bytes
        self.total_timeout = total_timeout

    def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """Send ``request`` (see ``httpx.Client.send``) within the deadline and size cap."""
        deadline = _request_deadline.get()
        if self.total_timeout is not None:
            own = time.monotonic() + self.total_timeout
            deadline = own if deadline is None else min(deadline, own)
        token = _request_deadline.set(deadline)
        sending = _sending.set(True)
        try:
            response = super().send(
                request, stream=True, auth=auth, follow_redirects=follow_redirects
            )
            if stream:
                return response
            try:
                self._read_capped(response)
            except BaseException:
                response.close()
                raise
            return response
        finally:
            _sending.reset(sending)
            _request_deadline.reset(token)

    def _read_capped(self, response: httpx.Response) -> None:
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > self.max_response_bytes:
                raise _too_large(response.request.url, self.max_response_bytes)
            chunks.append(chunk)
        # What Response.read() stores; read() itself would decode without a limit.
        response._content = b"".join(chunks)


def build_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    trace_id: str | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    follow_redirects: bool = True,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    headers: Mapping[str, str] | None = None,
    verify: ssl.SSLContext | None = None,
    network_backend: httpcore.NetworkBackend | None = None,
) -> SafeClient:
    """An ``httpx.Client`` whose every request passes the outbound policy; close it after.

    .. code-block:: python

        with build_client(timeout=context.remaining_seconds(), trace_id=context.trace_id) as client:
            response = client.get("https://api.example.com/orders", params={"page": 1})

    * ``timeout``: seconds for the whole request (connect, redirects, upload, body) and
      for each network operation. Host-name resolution is not covered (see the docs).
    * ``trace_id``: sent as a W3C ``traceparent`` header (a request's own
      ``traceparent`` header wins).
    * ``max_response_bytes``: larger bodies raise ``ResponseTooLargeError``.
    * ``follow_redirects`` / ``max_redirects``: every hop is checked again.
    * ``headers``: default headers (``User-Agent: django-automate/<version>`` is set).
    * ``verify``: an ``ssl.SSLContext`` for private CAs; the default verifies against
      certifi's bundle. ``network_backend``: see ``SafeTransport``.

    The client raises ``PolicyViolation`` for refused URLs and ``httpx`` exceptions for
    network failures; ``safe_request`` maps those to ``ConnectorError``.
    """
    default_headers = {"User-Agent": USER_AGENT}
    if trace_id:
        default_headers["traceparent"] = format_traceparent(trace_id)
    if headers:
        default_headers.update(headers)
    transport = SafeTransport(
        max_response_bytes=max_response_bytes, verify=verify, network_backend=network_backend
    )
    return SafeClient(
        max_response_bytes=max_response_bytes,
        total_timeout=timeout,
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        headers=default_headers,
        trust_env=False,
    )


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date).

    ``None`` when absent or unreadable; never negative; at most one day.
    """
    if value is None:
        return None
    value = value.strip()
    if is_whole_number(value):
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _excerpt(response: httpx.Response) -> str:
    try:
        text = response.text
    except httpx.ResponseNotRead:
        return ""
    return redact_text(text[:_ERROR_EXCERPT_CHARS])


def error_for_status(response: httpx.Response) -> ConnectorError | None:
    """The ``ConnectorError`` an HTTP error status means, or ``None`` below 400.

    * 429: ``http_rate_limited``, retryable, ``retry_after`` from ``Retry-After``;
    * 5xx: ``http_server_error``, retryable (``retry_after`` when given);
    * other 4xx: ``http_client_error``, not retryable.

    ``details`` has ``status``, ``method``, ``url`` (path kept, secrets masked: ``shown_url``) and
    ``response`` (the first 500 characters of the body, secrets masked).
    """
    status = response.status_code
    if status < 400:
        return None
    request = response.request
    url = shown_url(request.url)
    details: dict[str, Any] = {
        "status": status,
        "method": request.method,
        "url": url,
        "response": _excerpt(response),
    }
    what = f"{request.method} {url} answered HTTP {status} {response.reason_phrase}".rstrip()
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return ConnectorError(
            f"{what} (rate limited).",
            retryable=True,
            code="http_rate_limited",
            details=details,
            retry_after=retry_after,
        )
    if status >= 500:
        return ConnectorError(
            f"{what}.",
            retryable=True,
            code="http_server_error",
            details=details,
            retry_after=retry_after,
        )
    return ConnectorError(f"{what}.", retryable=False, code="http_client_error", details=details)


def check_status(response: httpx.Response) -> httpx.Response:
    """Return ``response``, or raise ``error_for_status(response)`` for a 4xx/5xx."""
    error = error_for_status(response)
    if error is not None:
        raise error
    return response


def _describe(method: str, url: str) -> str:
    try:
        return f"{method.upper()} {shown_url(httpx.URL(url))}"
    except (httpx.InvalidURL, TypeError):
        return method.upper()


def _find_cause(exc: BaseException, kind: type[ErrorT]) -> ErrorT | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def transport_error(exc: Exception, *, method: str, url: str) -> ConnectorError | PolicyViolation:
    """The error to raise for an exception ``httpx`` raised while sending a request.

    ``details["request_sent"]`` says whether the server may have received the whole
    request (a read timeout) or certainly did not (connection refused, DNS failure): a
    connector whose action is not idempotent retries only the latter.
    """
    what = _describe(method, url)
    reason = redact_text(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return PolicyViolation(
            f"The URL is not a valid http(s) URL ({reason}).", code="url_not_allowed"
        )
    if isinstance(exc, httpx.TooManyRedirects):
        return ConnectorError(
            f"{what} redirected too many times.", code="too_many_redirects", retryable=False
        )
    certificate_error = _find_cause(exc, ssl.SSLCertVerificationError)
    if certificate_error is not None:
        # The server's certificate does not match the host: retrying will not change it.
        return ConnectorError(
            f"{what}: the TLS certificate could not be verified "
            f"({redact_text(str(certificate_error))}).",
            retryable=False,
            code="tls_verification_failed",
            details={"request_sent": False},
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        cause = exc.__cause__
        retryable = cause.retryable if isinstance(cause, HostResolutionError) else True
        code = cause.code if isinstance(cause, HostResolutionError) else "http_connect_failed"
        return ConnectorError(
            f"{what}: could not connect ({reason}).",
            retryable=retryable,
            code=code,
            details={"request_sent": False},
        )
    if isinstance(exc, httpx.WriteTimeout | httpx.WriteError):
        return ConnectorError(
            f"{what}: sending the request failed ({reason}).",
            retryable=True,
            code="http_connection_error",
            details={"request_sent": False},
        )
    if isinstance(exc, httpx.TimeoutException):
        return ConnectorError(
            f"{what}: no complete answer in time ({reason}).",
            retryable=True,
            code="http_timeout",
            details={"request_sent": True},
        )
    if isinstance(exc, httpx.DecodingError):
        return ConnectorError(
            f"{what}: the response body could not be decoded ({reason}).",
            retryable=False,
            code="http_decoding_error",
            details={"request_sent": True},
        )
    return ConnectorError(
        f"{what}: the connection failed ({reason}).",
        retryable=True,
        code="http_connection_error",
        details={"request_sent": True},
    )


def safe_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    content: bytes | str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    trace_id: str | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    follow_redirects: bool = True,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    raise_for_status: bool = True,
    verify: ssl.SSLContext | None = None,
) -> httpx.Response:
    """Send one request through a fresh ``build_client`` and return the read response.

    .. code-block:: python

        response = safe_request(
            "POST", "https://api.example.com/orders", json={"id": 42},
            timeout=context.remaining_seconds(), trace_id=context.trace_id,
        )
        order = response.json()

    Raises:

    * ``PolicyViolation`` (``url_not_allowed``/``ssrf_blocked``, not retryable) for a
      URL, or a redirect, the outbound policy refuses; ``EgressNotAllowed``
      (``egress_not_allowed``, a ``PolicyViolation`` and a non-retryable
      ``ConnectorError``) for a host off the egress allowlist;
    * ``ConnectorError`` for everything else, retryable for connection failures
      (``http_connect_failed``, ``host_not_resolved`` when the name may come to exist),
      timeouts (``http_timeout``), HTTP 429 (``http_rate_limited``, with
      ``retry_after``) and 5xx (``http_server_error``); not retryable for other 4xx
      (``http_client_error``), ``too_many_redirects`` and ``response_too_large``.
      With ``raise_for_status=False`` error statuses are returned instead.

    Messages name the method and the URL with its path (``url_text.shown_url``): user-info,
    secret-looking query values and resolved secret values are masked.
    """
    with build_client(
        timeout=timeout,
        trace_id=trace_id,
        max_response_bytes=max_response_bytes,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        verify=verify,
    ) as client:
        try:
            response = client.request(
                method, url, headers=headers, params=params, json=json, content=content
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise transport_error(exc, method=method, url=url) from exc
    if raise_for_status:
        check_status(response)
    return response
