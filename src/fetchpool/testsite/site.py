"""The built-in test site: local pages with known sizes, delays, statuses and redirects.

It serves the tests, ``make demo``, ``fetchpool serve`` and benchmarks, so all of them
work with no internet. It runs on its own event loop (aiohttp), in a background thread
when started in-process, and holds thousands of slow requests at once.

Routes:
  /page/N          an HTML page of a few KB with <title>Page N</title>; its size depends on N
  /delay/MS/N      /page/N after MS milliseconds
  /status/CODE     an empty-ish answer with that status
  /bytes/N         N bytes of application/octet-stream
  /redirect/N      N redirects, then /page/0
  /headers         JSON of the request's headers (also kept as .last_headers)
  /credentials     a page whose <title> shows the request's credentials:
                   "authorization=VALUE cookie=VALUE" (- for one not sent)
  /to?url=URL      a 302 redirect to URL (any host: e.g. the other site of a test)
  /named/ANY?cd=V  a small text body for any path below /named/, with the header
                   Content-Disposition: V when cd is given (for --save-dir's naming)
  /stats           JSON: requests served, in flight now, peak in flight (not counted itself)
  /stats/reset     sets the counters to zero
  /fault/...       every fault a server can commit: see fetchpool.testsite.faults
"""

from __future__ import annotations

import asyncio
import html
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from .faults import Faults, RawServer

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["TestSite", "page_body", "serve"]

_MAX_DELAY_MS = 120_000
_MAX_BYTES = 1 << 31


def page_body(n: int) -> bytes:
    """The exact body of /page/N: 2 to 6 KB of HTML, deterministic."""
    size = 2000 + (n * 7919) % 4000
    head = f"<!doctype html>\n<html><head><title>Page {n}</title></head><body>\n"
    tail = "\n</body></html>\n"
    filler_len = max(0, size - len(head) - len(tail))
    line = f"<p>fetchpool test page {n}: lorem ipsum dolor sit amet.</p>\n"
    filler = (line * (filler_len // len(line) + 1))[:filler_len]
    return (head + filler + tail).encode()


def _int(request: web.Request, name: str, low: int, high: int) -> int:
    try:
        value = int(request.match_info[name])
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number\n") from exc
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{name} must be between {low} and {high}\n")
    return value


def _html(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="text/html", charset="utf-8")


class TestSite:
    """The site on ``host``:``port`` (0: a free port), in a background thread.

    ``with TestSite() as site: site.url("/page/1")``. ``peak`` is the most requests
    in flight at once since the last :meth:`reset`.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context  # set: the site speaks HTTPS
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self.last_headers: dict[str, str] = {}
        #: When each counted request arrived (time.monotonic), the latest 100,000.
        self.arrivals: deque[float] = deque(maxlen=100_000)
        self.faults = Faults()
        self.raw = RawServer()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- the app ---------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._count])
        app.add_routes(
            [
                web.get("/page/{n}", self._page),
                web.get("/delay/{ms}/{n}", self._delay),
                web.get("/status/{code}", self._status),
                web.get("/bytes/{n}", self._bytes),
                web.get("/redirect/{n}", self._redirect),
                web.get("/headers", self._headers),
                web.get("/credentials", self._credentials),
                web.get("/to", self._to),
                web.get("/named/{tail:.*}", self._named),
                web.get("/stats", self._stats),
                web.get("/stats/reset", self._reset),
                web.get("/", self._index),
                *self.faults.routes(),
            ]
        )
        return app

    @web.middleware
    async def _count(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path.startswith("/stats"):
            return await handler(request)
        self.requests += 1
        self.arrivals.append(time.monotonic())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=__doc__ or "", content_type="text/plain")

    async def _page(self, request: web.Request) -> web.Response:
        return _html(page_body(_int(request, "n", 0, 10**12)))

    async def _delay(self, request: web.Request) -> web.Response:
        ms = _int(request, "ms", 0, _MAX_DELAY_MS)
        n = _int(request, "n", 0, 10**12)
        await asyncio.sleep(ms / 1000)
        return _html(page_body(n))

    async def _status(self, request: web.Request) -> web.Response:
        code = _int(request, "code", 200, 599)
        if code in (204, 304):
            return web.Response(status=code)
        return web.Response(status=code, text=f"status {code}\n")

    async def _bytes(self, request: web.Request) -> web.StreamResponse:
        n = _int(request, "n", 0, _MAX_BYTES)
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.content_length = n
        await resp.prepare(request)
        block = bytes(range(256)) * 256  # 64 KiB
        left = n
        while left > 0:
            chunk = block[: min(left, len(block))]
            await resp.write(chunk)
            left -= len(chunk)
        await resp.write_eof()
        return resp

    async def _redirect(self, request: web.Request) -> web.Response:
        n = _int(request, "n", 0, 1000)
        if n == 0:
            return _html(page_body(0))
        target = "/page/0" if n == 1 else f"/redirect/{n - 1}"
        raise web.HTTPFound(target)

    async def _named(self, request: web.Request) -> web.Response:
        headers = {}
        if "cd" in request.query:
            headers["Content-Disposition"] = request.query["cd"]
        return web.Response(text=f"named {request.path_qs}\n", headers=headers)

    async def _headers(self, request: web.Request) -> web.Response:
        self.last_headers = dict(request.headers)
        return web.Response(text=json.dumps(self.last_headers), content_type="application/json")

    async def _credentials(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "-")
        cookie = request.headers.get("Cookie", "-")
        title = html.escape(f"authorization={auth} cookie={cookie}")
        return _html(f"<!doctype html><title>{title}</title>\n".encode())

    async def _to(self, request: web.Request) -> web.Response:
        target = request.query.get("url")
        if not target:
            raise web.HTTPBadRequest(text="give ?url=URL\n")
        raise web.HTTPFound(target)

    async def _stats(self, request: web.Request) -> web.Response:
        body = {"requests": self.requests, "in_flight": self.in_flight, "peak": self.peak}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return await self._stats(request)

    def reset(self) -> None:
        self.requests = 0
        self.peak = self.in_flight
        self.arrivals.clear()

    # -- running ---------------------------------------------------------------

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.host,
            self.port,
            backlog=4096,
            reuse_address=True,
            ssl_context=self.ssl_context,
        )
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        await self.raw.start(self.host)

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}{path}"

    def raw_url(self, path: str) -> str:
        """A URL on the raw server (see .faults): /garbage, /close, /drip-headers."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.raw.port}{path}"

    def start(self) -> TestSite:
        """Start in a background thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                assert self._runner is not None
                loop.run_until_complete(self.raw.close())
                loop.run_until_complete(self._runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=main, name="fetchpool-site", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> TestSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the site in the foreground until Ctrl-C (``fetchpool serve``)."""
    site = TestSite(host, port).start()
    print(f"fetchpool test site on {site.url('/')} (Ctrl-C to stop)", flush=True)
    print(f"replies that are not HTTP on {site.raw_url('/garbage')}, /close, /drip-headers")
    try:
        threading.Event().wait()
    finally:
        site.stop()
