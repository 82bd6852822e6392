"""Whom a run trusts: one TLS client context per trust setting, built once and shared.

Loading a CA store is the dear part of a TLS connection (about 28 ms of CPU for the 145
certificates of a Debian system store, against 0.2 ms for a handshake with it loaded):
made per connection, as urllib3 does when it is given no context, it dominates a run over
thousands of HTTPS hosts. So every transport takes its context from :func:`client_context`,
which makes each one once per process and trust setting: the system store (with
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, as Python's ssl module and curl read them),
a CA file (``--cacert``), or no checks at all (``--insecure``). libcurl has its own TLS
library; :func:`curl_paths` gives it the same trust.
"""

from __future__ import annotations

import functools
import os
import ssl

from ..config import Config
from ..errors import UsageError

__all__ = ["client_context", "context_for", "curl_paths"]


def context_for(config: Config) -> ssl.SSLContext:
    """The shared context for ``config``'s trust setting."""
    return client_context(
        config.cacert,
        config.insecure,
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("SSL_CERT_DIR"),
    )


@functools.cache
def client_context(
    cacert: str | None, insecure: bool, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    """A client context trusting ``cacert`` (a PEM file of CA certificates) or else the
    default store (``cert_file`` and ``cert_dir`` are the environment's, part of the key
    so a changed environment gets a fresh context); ``insecure``: no certificate or
    host name checks. Raises UsageError for a CA file that cannot be loaded."""
    try:
        # With no cafile, the default store (and the environment's) is loaded: once, here.
        context = ssl.create_default_context(cafile=cacert)
    except (OSError, ssl.SSLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"cannot use the CA file {cacert}: {why}") from exc
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def curl_paths(config: Config) -> tuple[str | None, str | None]:
    """The CA file and directory libcurl should trust for ``config`` (None: not set)."""
    if config.cacert is not None:
        return config.cacert, None
    paths = ssl.get_default_verify_paths()
    return paths.cafile, paths.capath
