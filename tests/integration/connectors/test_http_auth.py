"""The http connector derives the Authorization header from a secret ``auth`` input, so a
template never has to base64-encode a secret; the derived credential is masked."""

import base64

import pytest

from automate.connectors import ConnectorError
from automate.connectors.builtins.http import HttpConnector
from automate.governance import redaction
from automate.governance.redaction import SecretMasker, redact, redact_text
from automate.workflows.services import literal_secret_problems

from .http_servers import Reply

PASSWORD = "pw-canary-51c0ffee7a"


@pytest.fixture(autouse=True)
def masker(monkeypatch):
    masker = SecretMasker()
    monkeypatch.setattr(redaction, "secret_masker", masker)
    return masker


def run(params, context):
    return HttpConnector().run("request", params, context)


@pytest.mark.parametrize("username", ["bob", "a", "ab", "", "svc.account@example.com"])
def test_basic_auth_sends_the_derived_header_and_masks_it(
    serve, allow_local, step_context, username
):
    echo = {}

    def app(request):
        echo["authorization"] = request.headers["authorization"]
        return Reply(body={"seen": request.headers["authorization"]})

    server = serve(app)
    output = run(
        {"url": server.url, "auth": {"type": "basic", "username": username, "password": PASSWORD}},
        step_context,
    )
    credential = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    assert echo["authorization"] == f"Basic {credential}"
    # The server echoed the credential: stored or shown, it is masked.
    shown = str(redact(output))
    assert credential not in shown
    assert PASSWORD not in shown
    assert credential not in redact_text(f"upstream said {credential}")


def test_bearer_auth_sends_the_token(serve, allow_local, step_context):
    server = serve()
    run({"url": server.url, "auth": {"type": "bearer", "token": PASSWORD}}, step_context)
    assert server.requests[0].headers["authorization"] == f"Bearer {PASSWORD}"


@pytest.mark.parametrize(
    ("auth", "path"),
    [
        ({"type": "basic", "username": "bob"}, "inputs.auth.password"),
        ({"type": "basic", "password": PASSWORD}, "inputs.auth.username"),
        ({"type": "bearer"}, "inputs.auth.token"),
        ({"type": "digest", "token": PASSWORD}, "inputs.auth.type"),
        ({"type": "basic", "username": "a:b", "password": PASSWORD}, "inputs.auth.username"),
        ({"type": "bearer", "token": "x\r\nInjected: 1"}, "inputs.auth.token"),
    ],
)
def test_bad_auth_is_an_input_error_without_the_secret(
    serve, allow_local, step_context, auth, path
):
    server = serve()
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url, "auth": auth}, step_context)
    assert not caught.value.retryable
    assert path in str(caught.value.details) + caught.value.message
    assert PASSWORD not in caught.value.message
    assert PASSWORD not in str(caught.value.details)
    assert server.requests == []


def test_auth_and_an_authorization_header_cannot_both_be_given(serve, allow_local, step_context):
    server = serve()
    with pytest.raises(ConnectorError, match="not both"):
        run(
            {
                "url": server.url,
                "headers": {"authorization": "Bearer x"},
                "auth": {"type": "bearer", "token": PASSWORD},
            },
            step_context,
        )
    assert server.requests == []


def test_the_auth_secrets_must_be_references_to_publish():
    def graph(auth):
        return {
            "nodes": [
                {
                    "id": "call",
                    "type": "action",
                    "connector": "http",
                    "action": "request",
                    "inputs": {"url": "https://api.example.com", "auth": auth},
                }
            ]
        }

    literal = literal_secret_problems(
        graph=graph({"type": "basic", "username": "bob", "password": PASSWORD})
    )
    assert [p["field"] for p in literal] == ["inputs.auth.password"]
    assert PASSWORD not in str(literal)
    assert (
        literal_secret_problems(
            graph=graph({"type": "basic", "username": "bob", "password": {"$secret": "PW"}})
        )
        == []
    )
    assert literal_secret_problems(graph=graph({"type": "bearer", "token": "$secret:TOKEN"})) == []
