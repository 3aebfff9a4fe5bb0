"""Caller identities: Ed25519-signed tokens (JWT, via pyjwt + cryptography).

A token names the officer, their country and their roles; the broker verifies it with the
issuer's public key and audience from its config. Who issues tokens in production is each
state's identity provider; `selec token` issues demo tokens from a demo issuer key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from selec.countries import MEMBER_STATES

# officer, approver, auditor, admin: people. node: a member state's node, which may only
# publish its own country's references.
ROLES = ("officer", "approver", "auditor", "admin", "node")
AUDIENCE = "selec-broker"
ALGORITHM = "EdDSA"
MAX_TOKEN_BYTES = 4096


class TokenError(Exception):
    """A token is missing, malformed, forged, expired or for another audience."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who calls: an officer of a member state, with roles."""

    officer: str
    country: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        """Whether the caller holds role."""
        return role in self.roles


def new_signing_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key."""
    return Ed25519PrivateKey.generate()


def write_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """PEM, owner-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def write_public_key(key: Ed25519PublicKey, path: Path) -> None:
    """PEM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; ValueError names the file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(
            f"{path}: not a readable Ed25519 private key ({type(exc).__name__})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError names the file."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(
            f"{path}: not a readable Ed25519 public key ({type(exc).__name__})"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


def issue_token(
    key: Ed25519PrivateKey,
    officer: str,
    country: str,
    roles: list[str] | tuple[str, ...],
    *,
    lifetime: dt.timedelta = dt.timedelta(hours=8),
    audience: str = AUDIENCE,
    now: dt.datetime | None = None,
) -> str:
    """A signed token for officer of country with roles."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; expected {', '.join(ROLES)}")
    if country not in MEMBER_STATES:
        raise ValueError(f"country {country!r} is not a member state")
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": officer,
        "country": country,
        "roles": sorted(set(roles)),
        "aud": audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies tokens against one issuer key and audience."""

    def __init__(self, public_key: Ed25519PublicKey, audience: str = AUDIENCE) -> None:
        self._key = public_key
        self._audience = audience

    def verify(self, token: str) -> Identity:
        """The identity in a valid token; TokenError (with a safe reason) otherwise."""
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenError("token too long")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidAudienceError:
            raise TokenError("token is for another audience") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token signature invalid") from None
        except jwt.PyJWTError:
            raise TokenError("token malformed") from None
        officer, country, roles = claims.get("sub"), claims.get("country"), claims.get("roles")
        if (
            not isinstance(officer, str)
            or not officer
            or len(officer) > 128
            or officer != officer.strip()
            or not officer.isprintable()
        ):  # the id goes into request filters and the audit trail: one printable line
            raise TokenError("token names no officer")
        if country not in MEMBER_STATES:
            raise TokenError("token names no member state")
        if not isinstance(roles, list) or not all(r in ROLES for r in roles):
            raise TokenError("token roles invalid")
        return Identity(officer, country, frozenset(roles))
