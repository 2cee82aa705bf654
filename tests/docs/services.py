"""Outside services the docs' examples call (Slack, an OpenAI-compatible API, any HTTP API),
served on 127.0.0.1 so the examples run with no network."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: FakeServices

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        if self.path.endswith("/chat.postMessage"):
            reply: dict[str, Any] = {"ok": True, "channel": "C0DOCS", "ts": "1700000000.000100"}
        elif self.path.endswith("/chat/completions"):
            reply = {
                "id": "chatcmpl-docs",
                "object": "chat.completion",
                "created": 1700000000,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Invoice 42 paid by ACME."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 112, "completion_tokens": 14, "total_tokens": 126},
            }
        else:
            reply = {"id": "doc-1", "ok": True, "orders": []}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class FakeServices(ThreadingHTTPServer):
    """Slack's Web API, an OpenAI-compatible API and a generic JSON API on one port."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
