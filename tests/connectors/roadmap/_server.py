"""A real HTTP server on 127.0.0.1 for what respx cannot play: an answer that trickles in.

`serve()` yields a `Server`; set `server.body` (bytes), and `server.byte_seconds` to send the
answer one byte at a time, that many seconds apart (in the body, or from the status line on
with `server.drip_headers`). A drip stops when the client hangs up, or after `server.budget`
seconds, so a test that fails does not hang.

Roadmap sources fetch public addresses only: a test that reads this server allows 127.0.0.1
explicitly with `allow_hosts(monkeypatch, "127.0.0.1")` (ROADMAP_SOURCE_ALLOWED_HOSTS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.connectors.roadmap import netpolicy


def allow_hosts(monkeypatch, value: str) -> None:
    """ROADMAP_SOURCE_ALLOWED_HOSTS=`value` for this test (the operator's allow-list as the
    settings would give it; monkeypatch restores it after the test)."""
    allowed = netpolicy.parse_allowed_hosts(value)
    monkeypatch.setattr(netpolicy, "allowed_hosts", lambda: allowed)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    body: bytes = b'{"features": []}'
    byte_seconds: float = 0.0
    drip_headers: bool = False
    budget: float = 4.0
    requests: int = 0
    dripped: int = 0  # bytes written one at a time (`byte_seconds`): how much a client read

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/features"


class _Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        server = self.server
        server.requests += 1
        self.close_connection = True
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(server.body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            if server.drip_headers:
                self._drip(head + server.body)
            else:
                self.wfile.write(head)
                self.wfile.flush()
                self._drip(server.body)
        except OSError:  # the client hung up
            return

    def _drip(self, data: bytes) -> None:
        server = self.server
        if not server.byte_seconds:
            self.wfile.write(data)
            return
        stop = time.monotonic() + server.budget
        for i in range(len(data)):
            if time.monotonic() > stop:
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            server.dripped += 1
            time.sleep(server.byte_seconds)


@contextmanager
def serve() -> Iterator[Server]:
    server = Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
