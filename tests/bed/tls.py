"""Certificates for the bed: a CA made for this run with trustme, and the servers' certs.

OpenSSL does not let a wildcard stand for a top-level label ("*.test" matches nothing), so
host names are listed in the certificates, in groups (one cert per GROUP hosts) to keep each
handshake's certificate small even with 2,000 hosts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import trustme

from . import layout

GROUP = 50
SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


@dataclass(frozen=True)
class CertFiles:
    cert: Path  # chain: leaf then CA
    key: Path


class Certs:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca = trustme.CA(organization_name="fetchpool test bed")
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def issue(self, label: str, *names: str, expired: bool = False) -> CertFiles:
        kwargs = {}
        if expired:  # valid for a day, a year ago
            now = dt.datetime.now(dt.UTC)
            kwargs = {
                "not_before": now - dt.timedelta(days=366),
                "not_after": now - dt.timedelta(days=365),
            }
        leaf = self.ca.issue_cert(*names, **kwargs)
        files = CertFiles(self.dir / f"{label}.crt", self.dir / f"{label}.key")
        with open(files.cert, "wb") as f:
            for blob in leaf.cert_chain_pems:
                f.write(blob.bytes())
        leaf.private_key_pem.write_to_path(str(files.key))
        return files

    def trusted_bundle(self) -> Path:
        """A copy of the system's trust store plus our CA: "trusted as the machine trusts it"
        without touching the real store. Point SSL_CERT_FILE (or CURL_CA_BUNDLE) at it."""
        path = self.dir / "trusted-bundle.pem"
        system = next((Path(p) for p in SYSTEM_BUNDLES if Path(p).is_file()), None)
        base = system.read_bytes() if system else b""
        if base and not base.endswith(b"\n"):
            base += b"\n"
        path.write_bytes(base + self.ca_file.read_bytes())
        return path


def host_groups(n: int) -> list[list[int]]:
    return [list(range(s, min(s + GROUP, n))) for s in range(0, n, GROUP)]


def special_names() -> list[str]:
    return [
        *layout.IDN,
        layout.SLOW,
        f"*.{layout.SLOW}",
        layout.DELAY,
        layout.V6ONLY,
        layout.V6_ADDR,
    ]
