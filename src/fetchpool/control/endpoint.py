"""The control endpoint: a run's :class:`~fetchpool.knob.Knob` over HTTP, for scripts.

``GET /status`` gives the knob's status as JSON (done, in flight, rate, concurrency,
paused, and more); ``POST /pause``, ``/resume``, ``/concurrency?n=N`` and ``/stop`` steer
the run and answer with the status too. It listens on loopback only, unless a token is
set: then every request must carry ``Authorization: Bearer TOKEN`` (compared in constant
time), and a wrong or missing one gets 401.

The standard library's ThreadingHTTPServer on a thread of its own: five tiny routes need
no framework, and the run gains no dependency and no event loop to share.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import UsageError
from ..knob import Knob

__all__ = ["ControlServer", "parse_address"]


def parse_address(text: str, *, token: str | None) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6; port 0: any free one) as ``(host, port)``.
    A host that is not loopback is refused unless a ``token`` guards the endpoint."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"bad --control address {text!r}: give HOST:PORT, e.g. 127.0.0.1:8765")
    if not token and not _loopback(host):
        raise UsageError(
            f"--control {text} listens beyond this machine: give --control-token too "
            "(or listen on 127.0.0.1)"
        )
    if token is not None and not token.strip():
        raise UsageError("--control-token cannot be empty")
    return host, int(port)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


class ControlServer:
    """Serves ``knob`` on ``address`` (``HOST:PORT``) from a daemon thread until
    :meth:`close`. ``url`` is where it listens (the port bound, when 0 was asked)."""

    def __init__(self, knob: Knob, address: str, *, token: str | None = None) -> None:
        host, port = parse_address(address, token=token)
        handler = type("Handler", (_Handler,), {"knob": knob, "token": token})
        server_class = _Server6 if ":" in host else ThreadingHTTPServer
        try:
            self._server = server_class((host, port), handler)
        except OSError as exc:
            raise UsageError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
        self._server.daemon_threads = True
        bound = self._server.server_address
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="fetchpool-control",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ControlServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    knob: Knob
    token: str | None
    server_version = "fetchpool-control"

    def do_GET(self) -> None:
        if not self._allowed():
            return
        if urlsplit(self.path).path == "/status":
            self._send(HTTPStatus.OK, self.knob.status())
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "GET /status only"})

    def do_POST(self) -> None:
        if not self._allowed():
            return
        parts = urlsplit(self.path)
        knob = self.knob
        if parts.path == "/pause":
            knob.pause()
        elif parts.path == "/resume":
            knob.resume()
        elif parts.path == "/stop":
            knob.stop()
        elif parts.path == "/concurrency":
            values = parse_qs(parts.query).get("n", [])
            if len(values) != 1 or not values[0].isdigit() or int(values[0]) < 1:
                self._send(HTTPStatus.BAD_REQUEST, {"error": "give ?n=N, a whole number >= 1"})
                return
            n = int(values[0])
            if n > knob.most:
                self._send(
                    HTTPStatus.BAD_REQUEST, {"error": f"n can be {knob.most} at most in this run"}
                )
                return
            knob.set_concurrency(n)
        else:
            self._send(
                HTTPStatus.NOT_FOUND,
                {"error": "POST /pause, /resume, /stop or /concurrency?n=N"},
            )
            return
        self._send(HTTPStatus.OK, knob.status())

    def _allowed(self) -> bool:
        """With a token, the request must carry it; without, anyone on loopback may steer."""
        if self.token is None:
            return True
        sent = self.headers.get("Authorization", "")
        scheme, _, given = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            return True
        why = {"error": "a valid Authorization: Bearer token is needed"}
        self._send(HTTPStatus.UNAUTHORIZED, why, {"WWW-Authenticate": "Bearer"})
        return False

    def _send(self, status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # nothing on stderr, under the live display (and never a header)
