"""Grants: what the broker signs when a request is approved.

The node does not trust the broker's word: it verifies the Ed25519 signature with the
broker's public key from its own config, and checks the grant's country, expiry and
single-use nonce itself, so a compromised broker cannot mint releases for requests it
never approved without also holding the signing key.
"""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from selec.v1 import connector_pb2


class GrantSigner:
    """Signs grants with the broker's Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "GrantSigner(<key>)"

    def grant(
        self,
        *,
        request_id: str,
        country: str,
        reference: str,
        requester: str,
        requester_country: str,
        expires_at: dt.datetime,
        handling_code: str,
        handling_note: str,
        purpose: str,
        nonce: str | None = None,
    ) -> tuple[connector_pb2.Grant, connector_pb2.ReleaseRequest]:
        """A new grant (fresh nonce unless given) and the signed request that carries it."""
        grant = connector_pb2.Grant(
            request_id=request_id,
            country=country,
            reference=reference,
            requester=requester,
            requester_country=requester_country,
            expires_at=int(expires_at.timestamp()),
            nonce=nonce or secrets.token_hex(16),
            handling_code=handling_code,
            handling_note=handling_note,
            purpose=purpose,
        )
        return grant, self.sign(grant)

    def sign(self, grant: connector_pb2.Grant) -> connector_pb2.ReleaseRequest:
        """The signed form of a grant: its exact bytes and their signature."""
        payload = grant.SerializeToString(deterministic=True)
        return connector_pb2.ReleaseRequest(grant=payload, signature=self._key.sign(payload))
