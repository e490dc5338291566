"""A local fake of the LLM providers' HTTP APIs, so the real groq, openai and anthropic clients run in tests.

One threaded HTTP server on 127.0.0.1 speaks three dialects:

- OpenAI chat completions   POST /openai/v1/chat/completions     (base_url = server.openai_url)
- Groq (OpenAI-compatible)  POST /groq/openai/v1/chat/completions (base_url = server.groq_url)
- Anthropic messages        POST /anthropic/v1/messages           (base_url = server.anthropic_url)

Behaviour is scripted per request, in order: `server.script("rate_limit", "ok", ...)`; once the
script is used up every request gets `server.default`. Behaviours:

- "ok": a valid JSON summary built from the prompt (its "Topic:" line)
- "rate_limit": HTTP 429 with `retry-after: server.retry_after`
- "malformed": content that is not JSON and has no JSON object in it
- "repairable": the JSON object wrapped in prose and a code fence, with a trailing comma
- "timeout": no answer for `server.hang_s` seconds (longer than the client's timeout)
- "error": HTTP 500

Every request is recorded (path, API key, body, start and end times) and the server tracks the
most requests it ever had in flight per key.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    key: str
    body: dict[str, Any]
    behaviour: str
    started: float
    ended: float = 0.0
    status: int = 0


@dataclass
class FakeLlmServer:
    default: str = "ok"
    retry_after: float = 1.0
    hang_s: float = 5.0
    source_platform: str = "youtube"
    requests: list[Recorded] = field(default_factory=list)
    _script: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _httpd: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeLlmServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/openai/v1"

    @property
    def groq_url(self) -> str:
        return f"{self.url}/groq"

    @property
    def anthropic_url(self) -> str:
        return f"{self.url}/anthropic"

    def script(self, *behaviours: str) -> None:
        with self._lock:
            self._script.extend(behaviours)

    # --- answers ---------------------------------------------------------------------------

    def answer_fields(self, prompt: str) -> dict[str, str]:
        match = re.search(r"^Topic: (.+)$", prompt, re.MULTILINE)
        topic = match.group(1).strip() if match else "the topic"
        return {
            "summary": f"People discuss {topic} across platforms.",
            "dominant_narrative": f"{topic} is framed as a risk on YouTube.",
            "emerging_angle": f"Costs of {topic} are a new thread.",
            "divergence_explanation": "YouTube is far more negative than Reddit.",
            "source_platform": self.source_platform,
        }

    def _content(self, behaviour: str, prompt: str) -> str:
        if behaviour == "malformed":
            return "Sure! The conversation is mostly negative, mainly on YouTube."
        fields = self.answer_fields(prompt)
        if behaviour == "repairable":
            body = json.dumps(fields, indent=1)
            return f"Here is the JSON you asked for:\n```json\n{body[:-2]},\n}}\n```\nHope it helps."
        return json.dumps(fields)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        try:
            body = json.loads(handler.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            body = {}
        auth = handler.headers.get("authorization", "")
        key = handler.headers.get("x-api-key") or auth.removeprefix("Bearer ").strip()
        with self._lock:
            behaviour = self._script.popleft() if self._script else self.default
            record = Recorded(path=handler.path, key=key, body=body, behaviour=behaviour, started=time.monotonic())
            self.requests.append(record)
            self._in_flight[key] += 1
            self.max_in_flight[key] = max(self.max_in_flight[key], self._in_flight[key])
        try:
            self._respond(handler, record, body)
        finally:
            with self._lock:
                self._in_flight[key] -= 1
                record.ended = time.monotonic()

    def _respond(self, handler: BaseHTTPRequestHandler, record: Recorded, body: dict[str, Any]) -> None:
        anthropic = handler.path.startswith("/anthropic/")
        if not (handler.path.endswith("/chat/completions") or handler.path.endswith("/v1/messages")):
            return self._send(handler, record, 404, {"error": {"message": f"no route {handler.path}"}})
        if record.behaviour == "timeout":
            time.sleep(self.hang_s)
            return self._send(handler, record, 504, {"error": {"message": "too late"}})
        if record.behaviour == "rate_limit":
            error = (
                {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}
                if anthropic
                else {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit"}}
            )
            return self._send(handler, record, 429, error, {"retry-after": str(self.retry_after)})
        if record.behaviour == "error":
            return self._send(handler, record, 500, {"error": {"message": "internal error", "type": "server_error"}})
        if anthropic:
            prompt = " ".join(
                part if isinstance(part, str) else part.get("text", "")
                for message in body.get("messages", [])
                for part in (message["content"] if isinstance(message["content"], list) else [message["content"]])
            )
        else:
            prompt = "\n".join(str(message.get("content", "")) for message in body.get("messages", []))
        content = self._content(record.behaviour, prompt)
        prompt_tokens, completion_tokens = len(prompt.split()), len(content.split())
        model = body.get("model", "fake-model")
        if anthropic:
            payload = {
                "id": f"msg_{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": content}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
            }
        else:
            payload = {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        return self._send(handler, record, 200, payload)

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        record: Recorded,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        record.status = status
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout behaviour)
