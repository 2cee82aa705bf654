"""The SSRF-safe client against real local servers: checks, pinning, redirects, limits."""

import gzip
import logging
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpcore
import httpx
import pytest

from automate.compat import UTC
from automate.connectors import ConnectorError
from automate.governance.http import (
    USER_AGENT,
    ResponseTooLargeError,
    build_client,
    parse_retry_after,
    safe_request,
)
from automate.policy import PolicyViolation

from .conftest import TRACE_ID, automate_settings
from .http_servers import Reply, closed_port, make_certificate

PUBLIC_IP = "93.184.216.34"


# ---------------------------------------------------------------------------------------
# Checks, headers, proxies
# ---------------------------------------------------------------------------------------


def test_an_allowlisted_local_server_is_reached_with_our_headers(serve, allow_local):
    server = serve(lambda request: Reply(body={"hello": "world"}))
    response = safe_request("GET", f"{server.url}/hi", params={"q": "1"}, trace_id=TRACE_ID)
    assert response.status_code == 200
    assert response.json() == {"hello": "world"}
    [request] = server.requests
    assert request.path == "/hi?q=1"
    assert request.headers["user-agent"] == USER_AGENT == "django-automate/0.1.0"
    version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
    assert (version, trace_id, len(span_id), flags) == ("00", TRACE_ID, 16, "01")


def test_a_local_server_that_is_not_allowlisted_is_never_contacted(serve):
    server = serve()
    with pytest.raises(PolicyViolation) as caught:
        safe_request("GET", f"{server.url}/")
    assert caught.value.code == "ssrf_blocked"
    assert caught.value.message.startswith("127.0.0.1 is a loopback address")
    assert server.requests == []


def test_proxy_environment_variables_are_ignored(serve, allow_local, monkeypatch):
    bogus = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, bogus)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server = serve()
    assert safe_request("GET", f"{server.url}/direct").text == "ok"
    # Straight to the server: a proxied request would have an absolute URL here.
    assert server.requests[0].request_line == "GET /direct HTTP/1.1"


def test_the_log_line_of_httpx_shows_the_origin_only(serve, allow_local, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    server = serve()
    safe_request("GET", f"{server.url}/services/T0/B0/s3cr3t-path?token=s3cr3t-query")
    messages = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert messages == [f'HTTP Request: GET {server.url} "HTTP/1.0 200 OK"']


# ---------------------------------------------------------------------------------------
# Redirects: every hop is checked
# ---------------------------------------------------------------------------------------


def test_a_redirect_to_the_metadata_service_is_refused(serve, allow_local):
    server = serve(
        lambda request: Reply(302, headers={"Location": "http://169.254.169.254/latest/"})
    )
    with pytest.raises(PolicyViolation) as caught:
        safe_request("GET", f"{server.url}/start")
    assert caught.value.code == "ssrf_blocked"
    assert caught.value.details["rule"] == "metadata"
    assert [request.path for request in server.requests] == ["/start"]


def test_a_redirect_to_a_local_name_that_is_not_allowlisted_is_refused(serve, allow_local):
    target = serve()
    server = serve(
        lambda request: Reply(302, headers={"Location": f"http://localhost:{target.port}/x"})
    )
    with pytest.raises(PolicyViolation) as caught:
        safe_request("GET", f"{server.url}/start")
    assert caught.value.message.startswith("localhost is a loopback name")
    assert target.requests == []


def test_a_redirect_to_an_allowed_place_is_followed(serve, allow_local):
    def app(request):
        if request.path == "/old":
            return Reply(301, headers={"Location": "/new"})
        return Reply(body="moved here")

    server = serve(app)
    response = safe_request("GET", f"{server.url}/old")
    assert response.text == "moved here"
    assert [request.path for request in server.requests] == ["/old", "/new"]


def test_too_many_redirects_is_not_retried(serve, allow_local):
    server = serve(lambda request: Reply(302, headers={"Location": "/again"}))
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", f"{server.url}/again", max_redirects=2)
    assert (caught.value.code, caught.value.retryable) == ("too_many_redirects", False)
    assert len(server.requests) == 3


def test_redirects_are_not_followed_when_asked(serve, allow_local):
    server = serve(lambda request: Reply(302, headers={"Location": "http://169.254.169.254/"}))
    response = safe_request("GET", server.url, follow_redirects=False)
    assert response.status_code == 302


# ---------------------------------------------------------------------------------------
# DNS rebinding: connect to the address that was checked, never resolve again
# ---------------------------------------------------------------------------------------


class RecordingBackend(httpcore.NetworkBackend):
    """Records where the client asks to connect; actually connects to a local server."""

    def __init__(self, real_port):
        self.real_port = real_port
        self.connects = []
        self.tls_hostnames = []
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        return self._inner.connect_tcp("127.0.0.1", self.real_port, timeout=timeout)


def test_dns_rebinding_cannot_swap_the_address_between_check_and_connect(serve, fake_dns):
    server = serve()
    # First answer public (passes the check), every later answer loopback.
    dns = fake_dns({"rebind.test": [[PUBLIC_IP], ["127.0.0.1"]]})
    backend = RecordingBackend(server.port)
    with build_client(network_backend=backend) as client:
        response = client.get(f"http://rebind.test:{server.port}/data")
        assert response.text == "ok"
        assert backend.connects == [(PUBLIC_IP, server.port)]
        assert dns.calls == ["rebind.test"]  # resolved once, by the check
        assert server.requests[0].headers["host"] == f"rebind.test:{server.port}"
        # The next request is checked again, sees the loopback answer and is refused.
        with pytest.raises(PolicyViolation):
            client.get(f"http://rebind.test:{server.port}/data")
    assert backend.connects == [(PUBLIC_IP, server.port)]


def test_the_socket_connects_to_the_checked_ip(serve, fake_dns, monkeypatch):
    server = serve()
    fake_dns({"rebind.test": [[PUBLIC_IP], ["127.0.0.1"]]})
    real_create_connection = socket.create_connection
    targets = []

    def create_connection(address, *args, **kwargs):
        targets.append(address)
        return real_create_connection(("127.0.0.1", server.port), *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    response = safe_request("GET", f"http://rebind.test:{server.port}/")
    assert response.status_code == 200
    assert targets == [(PUBLIC_IP, server.port)]


def test_every_checked_address_is_tried_in_turn(serve, fake_dns):
    server = serve()
    dead = closed_port()

    class FirstFails(RecordingBackend):
        def connect_tcp(self, host, port, **kwargs):
            self.connects.append(host)
            if len(self.connects) == 1:
                raise httpcore.ConnectError("refused")
            return self._inner.connect_tcp("127.0.0.1", server.port)

    fake_dns({"two.test": [PUBLIC_IP, "8.8.8.8"]})
    backend = FirstFails(server.port)
    with build_client(network_backend=backend) as client:
        assert client.get(f"http://two.test:{dead}/").status_code == 200
    assert backend.connects == [PUBLIC_IP, "8.8.8.8"]


def test_concurrent_requests_each_connect_to_their_own_checked_address(serve, fake_dns):
    servers = {"198.51.1.1": serve(), "198.51.2.2": serve()}
    fake_dns({"a.test": ["198.51.1.1"], "b.test": ["198.51.2.2"]})

    class RouteByAddress(httpcore.NetworkBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            real_port = servers[host].port
            return httpcore.SyncBackend().connect_tcp("127.0.0.1", real_port, timeout=timeout)

    with build_client(network_backend=RouteByAddress()) as client:

        def fetch(index):
            name = "a.test" if index % 2 else "b.test"
            return client.get(f"http://{name}/{index}").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(fetch, range(40))) == {200}
    a_hosts = {request.headers["host"] for request in servers["198.51.1.1"].requests}
    b_hosts = {request.headers["host"] for request in servers["198.51.2.2"].requests}
    assert (a_hosts, b_hosts) == ({"a.test"}, {"b.test"})


def test_tls_verifies_the_host_name_while_connecting_to_the_pinned_ip(serve, fake_dns, tmp_path):
    server_context, ca_pem = make_certificate(tmp_path, "secure.test")
    server_names = []
    server_context.sni_callback = lambda sock, name, context: server_names.append(name)
    server = serve(ssl_context=server_context)
    fake_dns({"secure.test": ["127.0.0.1"]})
    trust = ssl.create_default_context(cadata=ca_pem)
    with automate_settings(POLICY={"http_allowlist": ["secure.test"]}):
        response = safe_request("GET", f"https://secure.test:{server.port}/", verify=trust)
    assert response.text == "ok"
    assert server_names == ["secure.test"]  # SNI is the host name, not the IP
    assert server.requests[0].headers["host"] == f"secure.test:{server.port}"


def test_tls_refuses_a_certificate_for_another_name(serve, fake_dns, tmp_path):
    server_context, ca_pem = make_certificate(tmp_path, "other.test")
    server = serve(ssl_context=server_context)
    fake_dns({"secure.test": ["127.0.0.1"]})
    trust = ssl.create_default_context(cadata=ca_pem)
    with (
        automate_settings(POLICY={"http_allowlist": ["secure.test"]}),
        pytest.raises(ConnectorError) as caught,
    ):
        safe_request("GET", f"https://secure.test:{server.port}/", verify=trust)
    assert caught.value.code == "tls_verification_failed"
    assert caught.value.retryable is False
    assert server.requests == []


# ---------------------------------------------------------------------------------------
# Size and time limits
# ---------------------------------------------------------------------------------------


def test_a_body_larger_than_the_cap_is_refused(serve, allow_local):
    server = serve(lambda request: Reply(body=b"x" * 5000))
    with pytest.raises(ResponseTooLargeError) as caught:
        safe_request("GET", server.url, max_response_bytes=1000)
    assert (caught.value.code, caught.value.retryable) == ("response_too_large", False)
    assert safe_request("GET", server.url, max_response_bytes=5000).content == b"x" * 5000


def test_a_body_without_a_length_is_cut_off_at_the_cap(serve, allow_local):
    server = serve(lambda request: Reply(chunks=[b"y" * 1000] * 50))
    with pytest.raises(ResponseTooLargeError):
        safe_request("GET", server.url, max_response_bytes=10_000)


def test_the_cap_applies_after_decompression(serve, allow_local):
    bomb = b"\0" * 2_000_000
    server = serve(lambda request: Reply(body=bomb, gzip=True))
    assert len(gzip.compress(bomb)) < 10_000
    with pytest.raises(ResponseTooLargeError):
        safe_request("GET", server.url, max_response_bytes=100_000)


def test_a_streamed_response_is_capped_on_the_wire(serve, allow_local):
    server = serve(lambda request: Reply(chunks=[b"z" * 1000] * 20))
    with (
        build_client(max_response_bytes=5000) as client,
        client.stream("GET", server.url) as response,
        pytest.raises(ResponseTooLargeError),
    ):
        for _chunk in response.iter_raw():
            pass


def test_a_slow_drip_body_hits_the_total_timeout(serve, allow_local):
    server = serve(lambda request: Reply(chunks=[b"."] * 100, chunk_delay=0.1))
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", server.url, timeout=0.5)
    assert time.monotonic() - started < 2
    assert (caught.value.code, caught.value.retryable) == ("http_timeout", True)
    assert caught.value.details["request_sent"] is True


# ---------------------------------------------------------------------------------------
# Error mapping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "http_client_error", False),
        (401, "http_client_error", False),
        (404, "http_client_error", False),
        (422, "http_client_error", False),
        (429, "http_rate_limited", True),
        (500, "http_server_error", True),
        (502, "http_server_error", True),
        (503, "http_server_error", True),
    ],
)
def test_error_statuses_say_whether_to_retry(serve, allow_local, status, code, retryable):
    server = serve(lambda request: Reply(status, body={"error": "nope"}))
    with pytest.raises(ConnectorError) as caught:
        safe_request("POST", f"{server.url}/orders?api_key=s3cr3t", json={"a": 1})
    error = caught.value
    assert (error.code, error.retryable) == (code, retryable)
    assert error.details["status"] == status
    # The path says which endpoint failed; the secret query value is masked.
    assert error.details["url"] == f"{server.url}/orders?api_key=********"
    assert '"nope"' in error.details["response"]
    assert "s3cr3t" not in error.message
    assert f"POST {server.url}/orders?api_key=******** answered HTTP {status}" in error.message


def test_rate_limits_carry_retry_after(serve, allow_local):
    server = serve(lambda request: Reply(429, headers={"Retry-After": "7"}))
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", server.url)
    assert caught.value.retry_after == 7


def test_error_statuses_can_be_returned_instead(serve, allow_local):
    server = serve(lambda request: Reply(404))
    assert safe_request("GET", server.url, raise_for_status=False).status_code == 404


def test_a_refused_connection_is_retryable_and_was_never_sent(allow_local):
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", f"http://127.0.0.1:{closed_port()}/")
    assert (caught.value.code, caught.value.retryable) == ("http_connect_failed", True)
    assert caught.value.details["request_sent"] is False


def test_an_unknown_host_is_not_retried(monkeypatch):
    def nxdomain(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", "https://no-such-host.example/")
    assert (caught.value.code, caught.value.retryable) == ("host_not_resolved", False)


def test_userinfo_never_reaches_error_messages(allow_local):
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", f"http://admin:hunter2@127.0.0.1:{closed_port()}/")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in str(caught.value.details)


def test_an_invalid_url_is_a_policy_violation():
    with pytest.raises(PolicyViolation) as caught:
        safe_request("GET", "http://[::1/")
    assert caught.value.code == "url_not_allowed"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        ("  3 ", 3.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("9999999", 86_400.0),
        ("soon", None),
    ],
)
def test_parse_retry_after(header, seconds):
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds


def test_a_built_client_is_an_httpx_client_that_ignores_the_environment():
    with build_client(timeout=5) as client:
        assert isinstance(client, httpx.Client)
        assert client.trust_env is False
        assert client.timeout.read == 5
