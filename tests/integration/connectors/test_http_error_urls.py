"""HTTP step errors name the URL with its path (which endpoint failed), with what is
secret in it masked: user-info, secret-looking query values, resolved secret values."""

import socket

import pytest

from automate.connectors import ConnectorError
from automate.connectors.builtins.http import HttpConnector
from automate.governance import redaction
from automate.governance.http import safe_request
from automate.governance.redaction import MASK, SecretMasker

from .http_servers import Reply

TOKEN = "tok-canary-7f3a9c1e55"


@pytest.fixture(autouse=True)
def masker(monkeypatch):
    masker = SecretMasker()
    monkeypatch.setattr(redaction, "secret_masker", masker)
    return masker


def failing_call(url, context, method="GET"):
    with pytest.raises(ConnectorError) as caught:
        HttpConnector().run("request", {"url": url, "method": method}, context)
    return caught.value


@pytest.mark.parametrize("status", [404, 429, 500])
def test_an_error_status_names_the_path_and_masks_secret_query_values(
    serve, allow_local, step_context, status
):
    server = serve(lambda request: Reply(status, body="no"))
    error = failing_call(
        f"{server.url}/v1/orders/42?page=2&api_key=s3cr3t&sig=abc123def&access_token=t0k",
        step_context,
    )
    shown = f"{server.url}/v1/orders/42?page=2&api_key={MASK}&sig={MASK}&access_token={MASK}"
    assert f"GET {shown} answered HTTP {status}" in error.message
    assert error.details["url"] == shown
    for secret in ("s3cr3t", "abc123def", "t0k"):
        assert secret not in error.message
        assert secret not in str(error.details)


def test_a_resolved_secret_in_the_path_is_masked(serve, allow_local, step_context, masker):
    masker.add(TOKEN)
    server = serve(lambda request: Reply(403))
    error = failing_call(f"{server.url}/hooks/{TOKEN}/send", step_context, method="POST")
    assert f"POST {server.url}/hooks/{MASK}/send answered HTTP 403" in error.message
    assert TOKEN not in error.message


def test_a_url_that_is_itself_a_secret_shows_its_origin_only(
    serve, allow_local, step_context, masker
):
    server = serve(lambda request: Reply(410))
    url = f"{server.url}/services/T0/B0/{TOKEN}"
    masker.add(url)
    error = failing_call(url, step_context)
    assert f"GET {server.url}/{MASK} answered HTTP 410" in error.message
    assert TOKEN not in error.message


def test_user_info_never_shows(serve, allow_local, step_context):
    server = serve(lambda request: Reply(401))
    url = server.url.replace("http://", "http://bob:hunter2pw@") + "/private"
    error = failing_call(url, step_context)
    assert "hunter2pw" not in error.message
    assert "bob" not in error.message
    assert f"{server.url}/private answered HTTP 401" in error.message


def test_a_connection_failure_names_the_path(allow_local, step_context):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failing_call(f"http://127.0.0.1:{port}/v2/refunds?token=zzsecret", step_context)
    assert f"GET http://127.0.0.1:{port}/v2/refunds?token={MASK}: could not connect" in (
        error.message
    )
    assert "zzsecret" not in error.message


def test_a_too_large_response_names_the_path(serve, allow_local):
    server = serve(lambda request: Reply(body=b"x" * 5000))
    with pytest.raises(ConnectorError) as caught:
        safe_request("GET", f"{server.url}/export?password=pw1", max_response_bytes=100)
    assert f"{server.url}/export?password={MASK}" in caught.value.message
    assert "pw1" not in caught.value.message


@pytest.mark.parametrize(
    "secret",
    ["p@ss w0rd!Q", "Zq9 rT:ab+Xy7/Kp", "a+b c@d", "plain0alnum0secret"],
    ids=["space-at-bang", "space-colon-plus-slash", "plus-space-at", "alphanumeric"],
)
@pytest.mark.parametrize("where", ["path", "query"])
def test_a_secret_a_client_encodes_partly_is_masked_wherever_it_sits(
    serve, allow_local, step_context, masker, secret, where
):
    """httpx sends a space as %20 but keeps ":", "@", "!" and "+": the mixed spelling
    that reaches the error message must be recognised as the secret."""
    from urllib.parse import quote

    masker.add(secret)
    server = serve(lambda request: Reply(403))
    url = (
        f"{server.url}/v1/{secret}/x"
        if where == "path"
        else f"{server.url}/v1/x?page=2&q={quote(secret, safe=':@!+/')}"
    )
    error = failing_call(url, step_context)
    assert "/v1/" in error.message  # the path is still named
    for spelling in {secret, quote(secret, safe=""), quote(secret, safe=":@!+/")} | set(
        secret.replace(" ", "%20").split("/")
    ):
        if len(spelling) >= 6:
            assert spelling not in error.message, spelling
            assert spelling not in str(error.details), spelling
