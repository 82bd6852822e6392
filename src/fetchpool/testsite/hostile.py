"""Hostile input for the soak (``benchmarks/hostile.py``) and its small copy in the tests:
every kind of line that once crashed a run, leaked a credential or fetched the wrong URL,
mixed with good URLs of the test site, and what each must become.

:func:`hostile_input` gives the bytes of the input file and the expected records, by the
``url`` each must hold: ``"200"`` (fetched), ``"invalid-url"`` (never fetched), or a title
the test site's /credentials page must show (fetched with ``--extract title`` and the
credential headers of :data:`HEADERS`).
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["HEADERS", "hostile_input"]

#: The -H headers a hostile run sends: none may reach another origin.
HEADERS = ("Authorization: Bearer X", "Cookie: a=b")
_SENT = "authorization=Bearer X cookie=a=b"
_NOTHING = "authorization=- cookie=-"


def _to(base: str, url: str) -> str:
    return f"{base}/to?url={quote(url, safe='')}"


def hostile_input(site: str, other: str, good: int) -> tuple[bytes, dict[str, str]]:
    """The input (a BOM first) and what each line's record must be, keyed by its ``url``.
    ``site`` and ``other``: the two test sites' base URLs (two origins); ``good``: how many
    good URLs (/page/N) are mixed in."""
    lines: list[bytes] = [b"\xef\xbb\xbf" + f"{site}/page/0".encode()]  # a BOM first
    expect: dict[str, str] = {f"{site}/page/0": "200"}
    hostile: list[tuple[bytes, str, str]] = [
        (f"{site}/caf".encode() + b"\xe9", f"{site}/caf\\xe9", "invalid-url"),
        (b"\xff\xfe" + f"{site}/x".encode(), f"\\xff\\xfe{site}/x", "invalid-url"),
        (f"{site}/nul\0x".encode(), f"{site}/nul\0x", "invalid-url"),
        (f"{site}/bell\x07x".encode(), f"{site}/bell\x07x", "invalid-url"),
        (f"{site}/esc\x1b[31mx".encode(), f"{site}/esc\x1b[31mx", "invalid-url"),
    ]
    long_line = f"{site}/{'a' * 8_000_001}"
    lines += [raw for raw, _, _ in hostile]
    expect.update({url: want for _, url, want in hostile})
    lines.append(long_line.encode())
    expect["LONG"] = "invalid-url"  # its url: its first bytes and a note (matched by prefix)
    userinfo = site.replace("http://", "http://user:secret@")
    creds = [
        (f"{site}/credentials", _SENT),
        (_to(site, f"{other}/credentials"), _NOTHING),  # another origin: none sent
        (_to(site, _to(other, f"{site}/credentials?back")), _SENT),  # back home: sent again
        (f"{userinfo}/credentials?userinfo", _SENT),  # the -H Authorization wins
        (_to(userinfo, f"{other}/credentials?u"), _NOTHING),
        ("http://user:secret@127.0.0.1:1/refused", "connect"),
    ]
    for url, want in creds:
        lines.append(url.encode())
        expect[url] = want
    step = max(1, good // (len(lines) + 1))
    out: list[bytes] = []
    hostile_lines = iter(lines[1:])
    out.append(lines[0])
    for i in range(1, good + 1):
        url = f"{site}/page/{i}"
        out.append(url.encode())
        expect[url] = "200"
        if i % step == 0:  # the hostile lines spread through the good ones
            out.append(next(hostile_lines, b""))
    out.extend(hostile_lines)
    return b"\n".join(line for line in out if line) + b"\n", expect


def problems(records: list[dict[str, object]], expect: dict[str, str]) -> list[str]:
    """What is wrong with the records of a hostile run (nothing: an empty list)."""
    found: list[str] = []
    seen: dict[str, int] = {}
    for rec in records:
        url = str(rec["url"])
        key = "LONG" if "…[" in url and "bytes in all" in url else url
        seen[key] = seen.get(key, 0) + 1
        want = expect.get(key)
        error = str(rec.get("error") or "")
        if "secret" in error or "secret" in str(rec.get("final_url") or ""):
            found.append(f"a password shown: {rec}")
        if want is None:
            found.append(f"a record for no line: {url[:80]!r}")
        elif want == "200":
            if rec.get("status") != 200:
                found.append(f"{url[:80]!r}: {rec.get('status')} {error}")
        elif want in ("invalid-url", "connect"):
            if not error.startswith(want):
                found.append(f"{url[:80]!r}: not {want}: {rec.get('status')} {error}")
        elif rec.get("title") != want:
            found.append(f"{url[:80]!r}: title {rec.get('title')!r}, not {want!r}")
        if key == "LONG" and len(url) > 2000:
            found.append(f"the long line's url holds {len(url)} characters")
    for key in expect:
        if seen.get(key, 0) != 1:
            found.append(f"{seen.get(key, 0)} records for {key[:80]!r}")
    return found
