"""A local HTTP receiver for notification tests: records every POST, answers as told.

``answer`` 200 by default; 500 to fail every attempt; ``hang`` to hold every request open
until the receiver is closed (a receiver that never answers).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class Receiver:
    def __init__(self, *, answer: int = 200, hang: bool = False) -> None:
        self.answer = answer
        self.hang = hang
        self.received: list[Received] = []
        # requests that arrived and are held open (hang)
        self.holding = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), json.loads(raw or b"null"))
                    )
                if receiver.hang:
                    with receiver._lock:
                        receiver.holding += 1
                    receiver._released.wait(120)
                    return
                self.send_response(receiver.answer)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.received]

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Received]:
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{count} requests expected, got {self.received}")

    def close(self) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()
