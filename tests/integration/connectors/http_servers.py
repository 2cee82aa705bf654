"""Real HTTP(S) servers on 127.0.0.1 for connector tests, and a fake resolver.

``LocalServer(app)`` runs ``http.server`` in a thread on an ephemeral port. ``app`` gets a
``Received`` request and returns a ``Reply``; every request is recorded in
``server.requests``. Use it as a context manager (the fixtures in conftest.py do) so the
socket and the threads are closed before the test ends.
"""

import gzip
import http.server
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    method: str
    path: str
    headers: dict  # lower-case names
    body: bytes
    request_line: str

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: object = b""
    headers: dict = field(default_factory=dict)
    # Sent one by one without Content-Length (the body ends when the connection closes).
    chunks: list | None = None
    chunk_delay: float = 0.0
    gzip: bool = False


def _encode(body):
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "LocalServer"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            request_line=self.requestline,
        )
        self.server.owner.requests.append(received)
        reply = self.server.owner.app(received)
        payload, content_type = _encode(reply.body)
        if reply.gzip:
            payload = gzip.compress(payload)
        self.send_response(reply.status)
        headers = dict(reply.headers)
        if content_type and "Content-Type" not in headers:
            headers["Content-Type"] = content_type
        if reply.gzip:
            headers["Content-Encoding"] = "gzip"
        if reply.chunks is None:
            headers.setdefault("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.chunks is None:
            self.wfile.write(payload)
            return
        for chunk in reply.chunks:
            if self.server.owner.released.wait(reply.chunk_delay):
                return
            self.wfile.write(chunk)
            self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gave up (timeout tests) breaks the pipe; that is the point.
        self.owner.errors.append(client_address)


class LocalServer:
    """An HTTP (or, with ``ssl_context``, HTTPS) server on 127.0.0.1."""

    def __init__(self, app=None, *, ssl_context=None):
        self.app = app or (lambda request: Reply(body="ok"))
        self.requests = []
        self.errors = []
        self.released = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.released.set()  # wake handlers that are dripping a slow body
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def closed_port():
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeResolver:
    """Stands in for socket.getaddrinfo: answers from a table, records every question.

    A table value may be a list of addresses, or a list of such lists answered in turn
    (the last one repeats): that is how a DNS-rebinding name is faked.
    """

    def __init__(self, table, real):
        self.table = table
        self.real = real
        self.calls = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.table:
            return self.real(host, port, family, type, proto, flags)
        self.calls.append(host)
        answers = self.table[host]
        if answers and isinstance(answers[0], list):
            index = min(self.calls.count(host), len(answers)) - 1
            answers = answers[index]
        result = []
        for address in answers:
            if ":" in address:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return result


def make_certificate(tmp_path, hostname):
    """A self-signed certificate for ``hostname``: (server SSLContext, CA PEM text)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_file = tmp_path / f"{hostname}.crt"
    key_file = tmp_path / f"{hostname}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    return server_context, cert_pem.decode()


def wait_for(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
