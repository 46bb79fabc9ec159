"""Message receivers that can be started late, on ports fixed before they listen: an SMTP server
(aiosmtpd) and a webhook receiver (http.server). Each records the X-Complaints-Key of every
message it accepts, so a test can count deliveries per notification."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from delivery.senders import KEY_HEADER, verify_signature
from tests.ports import free_port


class SmtpReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.keys: Counter[str] = Counter()  # (key, recipient address) would leak addresses
        self._controller: Controller | None = None

    def start(self) -> None:
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                receiver.keys[message[KEY_HEADER]] += 1
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebhookReceiver:
    def __init__(self, secret: str) -> None:
        self.port = free_port()
        self.secret = secret
        self.keys: Counter[str] = Counter()
        self.unsigned = 0  # requests whose signature did not verify
        self._server: ThreadingHTTPServer | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def start(self) -> None:
        receiver, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    if verify_signature(
                        receiver.secret, raw, self.headers.get("X-Complaints-Signature")
                    ):
                        receiver.keys[self.headers[KEY_HEADER]] += 1
                    else:
                        receiver.unsigned += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # the test's output stays free of request lines

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
