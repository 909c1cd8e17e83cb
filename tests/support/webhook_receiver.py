"""A local webhook receiver for the tests: a threaded HTTP(S) server on loopback that keeps what it got.

``receiver.answers`` is the script of status codes it answers with, one per request (then
``default_status``); ``receiver.requests`` holds every request (path, headers, body) in order.
Verify what arrived with ``standardwebhooks.Webhook(secret).verify(body, headers)``.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    default_status: int = 200
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, type_: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if type_ is None or r.json().get("type") == type_]

    def wait_for(self, count: int, *, type_: str | None = None, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(found := self.events(type_)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {count} {type_ or 'requests'}; got {len(found)}")
            time.sleep(0.05)
        return found


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = receiver.answers.pop(0) if receiver.answers else receiver.default_status
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            answer = json.dumps({"received": True}).encode()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass

    return Handler


@contextmanager
def webhook_receiver(
    *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None, name: str = "127.0.0.1"
) -> Iterator[Receiver]:
    """A running receiver on a free port of ``host``; ``tls`` serves https with that context."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer((host, 0), _handler(receiver))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    receiver.url = f"{'https' if tls else 'http'}://{name}:{port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
