"""What a running hub holds between requests: its signing key and the one site client, set when the
app starts (app.py's lifespan) and closed when it stops. Holds; starts nothing itself."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mx_hub.client import SiteClient


@dataclass
class Runtime:
    key: Ed25519PrivateKey | None = None
    site_client: SiteClient | None = None

    @property
    def client(self) -> SiteClient:
        if self.site_client is None:
            raise RuntimeError("the hub has not started (no site client yet)")
        return self.site_client
