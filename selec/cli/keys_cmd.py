"""`selec certs` and `selec token`: the demo PKI, keys and identities."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from selec.cli.paths import DEFAULT_DATA_DIR
from selec.countries import MEMBER_STATES
from selec.tls import create_demo_pki
from selec.tokens import (
    ROLES,
    issue_token,
    load_private_key,
    new_signing_key,
    write_private_key,
    write_public_key,
)

# The demo's people (and nodes): name -> (country, roles).
DEMO_IDENTITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "officer.gr": ("GR", ("officer",)),
    "officer.ro": ("RO", ("officer",)),
    "approver.rs": ("RS", ("approver",)),
    "approver.bg": ("BG", ("approver",)),
    "auditor.selec": ("RO", ("auditor",)),
    "admin.selec": ("RO", ("admin",)),
    **{f"node.{c.lower()}": (c, ("node",)) for c in MEMBER_STATES},
}


def create_demo_security(data_dir: Path) -> None:
    """CA and certificates, the token issuer key and the grant signing key (if missing)."""
    pki = data_dir / "pki"
    if not (pki / "ca.pem").exists():
        create_demo_pki(pki)
    for name in ("token-issuer", "grant-signing"):
        if not (pki / f"{name}.key").exists():
            key = new_signing_key()
            write_private_key(key, pki / f"{name}.key")
            write_public_key(key.public_key(), pki / f"{name}.pub")


def issue_demo_tokens(data_dir: Path, lifetime: dt.timedelta) -> None:
    """A fresh token for each demo identity in <data-dir>/tokens/."""
    key = load_private_key(data_dir / "pki" / "token-issuer.key")
    tokens = data_dir / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    for name, (country, roles) in DEMO_IDENTITIES.items():
        path = tokens / f"{name}.jwt"
        path.write_text(issue_token(key, name, country, roles, lifetime=lifetime) + "\n")
        path.chmod(0o600)


def add_certs_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `selec certs`."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="writes <data-dir>/pki/ and <data-dir>/tokens/",
    )


def run_certs(options: argparse.Namespace) -> int:
    """Create the demo CA, certificates, keys and tokens."""
    create_demo_security(options.data_dir)
    issue_demo_tokens(options.data_dir, dt.timedelta(hours=12))
    print(
        f"demo CA, broker and node certificates, token issuer and grant keys in "
        f"{options.data_dir / 'pki'}; demo tokens in {options.data_dir / 'tokens'}"
    )
    return 0


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `selec token`."""
    parser.add_argument("--officer", required=True, help="officer id (the token's subject)")
    parser.add_argument("--country", required=True, help="the officer's member state")
    parser.add_argument("--roles", required=True, help=f"comma-separated: {', '.join(ROLES)}")
    parser.add_argument("--hours", type=float, default=8.0, help="lifetime (default 8)")
    parser.add_argument(
        "--key", type=Path, help="issuer key (default <data-dir>/pki/token-issuer.key)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)


def run_token(options: argparse.Namespace) -> int:
    """Print a signed demo token."""
    key_path = options.key or options.data_dir / "pki" / "token-issuer.key"
    try:
        key = load_private_key(key_path)
        token = issue_token(
            key,
            options.officer,
            options.country.upper(),
            [r.strip() for r in options.roles.split(",") if r.strip()],
            lifetime=dt.timedelta(hours=options.hours),
        )
    except ValueError as exc:
        print(f"selec token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0
