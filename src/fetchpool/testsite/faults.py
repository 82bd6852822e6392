"""The test site's hostile side: every fault a real web server can commit, on demand.

HTTP-level faults are routes of the site (``/fault/...``); faults that no HTTP server
would commit (a reply that is not HTTP at all, headers that drip) come from a small raw
socket server on a port of its own. Each fault that hangs waits only until the client goes
away (or two minutes), so stalled handlers do not pile up behind a test run.

Routes:
  /fault/reset-before           the connection is reset before any answer
  /fault/reset-mid/N            Content-Length N, half the body, then a reset
  /fault/truncated/N            Content-Length N, half the body, then a clean close
  /fault/stall-headers          no answer at all, until the client leaves
  /fault/stall-body/N           Content-Length N, half the body, then nothing
  /fault/drip/N/MS              Content-Length N, one byte every MS milliseconds
  /fault/flaky/CODE/K/KEY       CODE for the first K requests with this KEY, then a page;
                                ?after=S sends Retry-After: S, ?after=date:S an HTTP date S s on
  /fault/loop/I                 a redirect loop: /fault/loop/0 <-> /fault/loop/1
  /fault/redirect-to?location=L a redirect to L (e.g. file:///etc/passwd)
  /fault/huge                   an endless body, no Content-Length
  /fault/gzip-bomb              ~1 MB of gzip that inflates to 1 GiB of zeros
  /fault/gzip/N                 /page/N, gzip-encoded (the decoded size is len(page_body(N)))
  /fault/chunked/N              /page/N in chunked transfer coding (?gzip=1: gzip-encoded too)
  /fault/not-utf8/N             N bytes that are not UTF-8, labelled text/html; charset=utf-8
Raw server paths (a query is ignored): /garbage (not HTTP), /close (closed without a
reply), /drip-headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import socket
import struct
import time
import zlib
from email.utils import formatdate

from aiohttp import web

__all__ = ["BOMB_SIZE", "Faults", "RawServer", "bomb_body"]

BOMB_SIZE = 1 << 30
_GIVE_UP = 120.0  # a hanging fault gives up after this many seconds
_BLOCK = bytes(range(256)) * 256  # 64 KiB
_NOT_UTF8 = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc"


@functools.cache
def bomb_body() -> bytes:
    """One gzip member inflating to BOMB_SIZE zeros, built from repeated full-flush
    segments (each identical and independent), so it takes well under a second."""
    zeros = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)  # includes the gzip header
    segment = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(BOMB_SIZE >> 20):
        crc = zlib.crc32(zeros, crc)
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)
    trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
    return first + segment * ((BOMB_SIZE >> 20) - 1) + end + trailer


def _int(request: web.Request, name: str, high: int = 1 << 31) -> int:
    try:
        value = int(request.match_info[name])
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number\n") from exc
    if not 0 <= value <= high:
        raise web.HTTPBadRequest(text=f"{name} must be between 0 and {high}\n")
    return value


def _reset(request: web.Request) -> None:
    """Reset the connection (RST, not FIN): linger on, with a time of zero."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _until_gone(request: web.Request) -> None:
    """Wait until the client has left (or _GIVE_UP seconds)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + _GIVE_UP
    while loop.time() < end:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.05)


async def _half_body(request: web.Request, n: int) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    resp.content_length = n
    await resp.prepare(request)
    await resp.write(_BLOCK[: n // 2] if n // 2 <= len(_BLOCK) else bytes(n // 2))
    return resp


class Faults:
    """The fault routes, with the per-key counters the flaky routes need."""

    def __init__(self) -> None:
        self.flaky_counts: dict[str, int] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/fault/reset-before", self.reset_before),
            web.get("/fault/reset-mid/{n}", self.reset_mid),
            web.get("/fault/truncated/{n}", self.truncated),
            web.get("/fault/stall-headers", self.stall_headers),
            web.get("/fault/stall-body/{n}", self.stall_body),
            web.get("/fault/drip/{n}/{ms}", self.drip),
            web.get("/fault/flaky/{code}/{times}/{key}", self.flaky),
            web.get("/fault/loop/{i}", self.loop),
            web.get("/fault/redirect-to", self.redirect_to),
            web.get("/fault/huge", self.huge),
            web.get("/fault/gzip-bomb", self.gzip_bomb),
            web.get("/fault/gzip/{n}", self.gzipped),
            web.get("/fault/chunked/{n}", self.chunked),
            web.get("/fault/not-utf8/{n}", self.not_utf8),
        ]

    async def reset_before(self, request: web.Request) -> web.StreamResponse:
        _reset(request)
        return web.Response()  # never sent: the connection is gone

    async def reset_mid(self, request: web.Request) -> web.StreamResponse:
        resp = await _half_body(request, _int(request, "n"))
        await asyncio.sleep(0.2)  # let the client read the headers, so the reset is mid-body
        _reset(request)
        return resp

    async def truncated(self, request: web.Request) -> web.StreamResponse:
        resp = await _half_body(request, _int(request, "n"))
        await asyncio.sleep(0.05)
        if request.transport is not None:
            request.transport.close()  # a clean FIN, short of Content-Length
        return resp

    async def stall_headers(self, request: web.Request) -> web.StreamResponse:
        await _until_gone(request)
        return web.Response(text="too late\n")

    async def stall_body(self, request: web.Request) -> web.StreamResponse:
        resp = await _half_body(request, _int(request, "n"))
        await _until_gone(request)
        return resp

    async def drip(self, request: web.Request) -> web.StreamResponse:
        n, ms = _int(request, "n"), _int(request, "ms", 60_000)
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.content_length = n
        await resp.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(n):
                if request.transport is None or request.transport.is_closing():
                    break
                await resp.write(b".")
                await asyncio.sleep(ms / 1000)
        return resp

    async def flaky(self, request: web.Request) -> web.StreamResponse:
        code, times = _int(request, "code", 599), _int(request, "times")
        key = request.match_info["key"]
        seen = self.flaky_counts[key] = self.flaky_counts.get(key, 0) + 1
        if seen > times:
            return web.Response(text=f"ok after {times}\n", content_type="text/plain")
        headers = {}
        after = request.query.get("after")
        if after is not None:
            if after.startswith("date:"):
                after = formatdate(time.time() + float(after[5:]), usegmt=True)
            headers["Retry-After"] = after
        return web.Response(status=code, text=f"failure {seen} of {times}\n", headers=headers)

    async def loop(self, request: web.Request) -> web.StreamResponse:
        i = _int(request, "i", 1)
        raise web.HTTPFound(f"/fault/loop/{1 - i}")

    async def redirect_to(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.query.get("location", "/page/0"))

    async def huge(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(1 << 18):  # 16 GiB at most
                await resp.write(_BLOCK)
        return resp

    async def gzip_bomb(self, request: web.Request) -> web.StreamResponse:
        body = await asyncio.get_running_loop().run_in_executor(None, bomb_body)
        resp = web.StreamResponse(
            headers={"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"}
        )
        resp.content_length = len(body)
        with contextlib.suppress(ConnectionError):  # the client may have left meanwhile
            await resp.prepare(request)
            for start in range(0, len(body), len(_BLOCK)):
                await resp.write(body[start : start + len(_BLOCK)])
        return resp

    async def gzipped(self, request: web.Request) -> web.StreamResponse:
        from .site import page_body

        body = gzip.compress(page_body(_int(request, "n")))
        return web.Response(
            body=body,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        )

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        """/page/N's body in chunked transfer coding, 1000 bytes a chunk (gzip'd first
        with ``?gzip=1``)."""
        from .site import page_body

        body = page_body(_int(request, "n"))
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if request.query.get("gzip") == "1":
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        resp = web.StreamResponse(headers=headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for start in range(0, len(body), 1000):
            await resp.write(body[start : start + 1000])
        await resp.write_eof()
        return resp

    async def not_utf8(self, request: web.Request) -> web.StreamResponse:
        n = _int(request, "n", 1 << 24)
        body = (_NOT_UTF8 * (n // len(_NOT_UTF8) + 1))[:n]
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})


class RawServer:
    """Replies no HTTP server would send, chosen by the request's path."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._handle, host, 0, backlog=1024)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_GIVE_UP):
                head = await reader.readuntil(b"\r\n\r\n")
                parts = head.split(b" ", 2)
                target = parts[1].decode("latin-1") if len(parts) > 1 else ""
                path = target.split("?", 1)[0]
                if path == "/garbage":
                    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n" + bytes(range(256)))
                elif path == "/drip-headers":
                    writer.write(b"HTTP/1.1 200 OK\r\n")
                    while not reader.at_eof():
                        writer.write(b"X")
                        await writer.drain()
                        await asyncio.sleep(0.1)
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(0.01):
                                if not await reader.read(1):
                                    break
                # /close and anything else: no reply at all
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
