"""A real HTTP server that receives webhooks in tests, records them, and answers as scripted.

    with WebhookReceiver(responses=[500, 500, 200]) as receiver:
        ... deliver to receiver.url("/hook") ...
        receiver.wait_for(3)
        assert receiver.requests[-1].signature_valid(secret)

`responses` is consumed one per request (the last one repeats); an entry is a status code, or
("redirect", location) to answer 302 with that Location.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def signature_valid(self, secret: str, *, tolerance_s: int = 300) -> bool:
        """What a receiver should do: recompute HMAC-SHA256 over "<timestamp>.<body>" and compare in constant time."""
        timestamp = self.headers.get("x-signalflow-timestamp", "")
        signature = self.headers.get("x-signalflow-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
            return False
        expected = (
            "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + self.body, hashlib.sha256).hexdigest()
        )
        return hmac.compare_digest(expected, signature)


class WebhookReceiver:
    def __init__(self, responses: list[Any] | None = None, delay_s: float = 0.0) -> None:
        self.responses = list(responses or [200])
        self.delay_s = delay_s
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        ReceivedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    index = len(receiver.requests) - 1
                    answer = receiver.responses[min(index, len(receiver.responses) - 1)]
                    receiver._lock.notify_all()
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                if isinstance(answer, tuple) and answer[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", answer[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = b'{"ok": true}' if 200 <= answer < 300 else b'{"error": "scripted failure"}'
                self.send_response(answer)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"webhook receiver got {len(self.requests)} request(s), expected {count}")
                self._lock.wait(remaining)
            return list(self.requests)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
