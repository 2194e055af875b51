"""A real chat-completions HTTP server on loopback for testing the LLM annotator.

It answers like a careful annotator would, from the project's knowledge base, and misbehaves on
request: a transcript containing ``[malformed]`` gets prose instead of JSON, ``[fenced]`` a JSON
answer inside a Markdown fence, ``[unknown-au]`` one AU id outside the catalogue next to valid ones,
``[only-unknown]`` only unknown ids, ``[429]`` / ``[500]`` fail once before answering, and
``[always-500]`` always fails.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from expclip.emotions import load_knowledge_base
from expclip.facs import intensity_letter


def reference_answer(text: str) -> dict:
    """Tags, AUs and situation for a transcript, from the first emotion word it contains."""
    kb = load_knowledge_base()
    for word in re.findall(r"[a-z]+", text.lower()):
        emotion = kb.category_of(word)
        if emotion is not None and emotion.name != "neutral":
            aus = {key: intensity_letter(value) for key, value in emotion.prototypes[0].items()}
            tags = [emotion.name, *emotion.words["mid"]][:4]
            return {"tags": tags, "aus": aus, "situation": f"Someone wrote a post about feeling {word}."}
    return {"tags": ["neutral", "calm", "plain"], "aus": {}, "situation": "Someone wrote an ordinary update."}


class ChatServer(ThreadingHTTPServer):
    """``with ChatServer(delay=0.1) as server: server.url`` → ``http://127.0.0.1:PORT/v1``."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0, status: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.status = status  # answer every request with this HTTP status, when set
        self.lock = threading.Lock()
        self.attempts: Counter = Counter()  # transcript → requests seen
        self.answered: Counter = Counter()  # transcript → successful answers
        self.headers_seen: list[dict] = []
        self.models: set[str] = set()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> "ChatServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: dict | str, headers: dict | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = request["messages"][-1]["content"]
        server = self.server
        with server.lock:
            server.attempts[text] += 1
            attempt = server.attempts[text]
            server.headers_seen.append(dict(self.headers))
            server.models.add(request["model"])
        if server.delay:
            time.sleep(server.delay)
        if server.status is not None:
            self._send(server.status, {"error": {"message": "refused"}})
            return
        if ("[429]" in text and attempt == 1):
            self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
            return
        if ("[500]" in text and attempt == 1) or "[always-500]" in text:
            self._send(500, {"error": {"message": "internal"}})
            return
        answer = reference_answer(text)
        if "[unknown-au]" in text:
            answer["aus"] = {**answer["aus"], "99": "B"}
        if "[only-unknown]" in text:
            answer["aus"] = {"99": "B", "AU77": "C"}
        content = json.dumps(answer)
        if "[malformed]" in text:
            content = "Sure! The tags are happy and excited {tags: happy"
        if "[fenced]" in text:
            content = f"Here you go:\n```json\n{content}\n```"
        with server.lock:
            server.answered[text] += 1
        self._send(200, {
            "id": "chatcmpl-test", "object": "chat.completion", "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        })
