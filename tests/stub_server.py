"""The HTTP plumbing every provider stand-in shares: a quiet handler that answers JSON, and a threaded server on a
free loopback port with start/stop, so each stand-in holds only the provider's own rules."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.mail_sink import free_port


class JsonHandler(BaseHTTPRequestHandler):
    """Answers in the provider's JSON; subclasses set `content_type` when the provider uses another media type."""

    content_type = "application/json"

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))


class StubServer:
    """A stand-in's lifetime: `serve(handler)` binds it; `start()` runs it in a daemon thread; `stop()` closes it."""

    def __init__(self) -> None:
        self.port = free_port()

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
