"""How the thin client reaches the broker: address, TLS and the caller's token.

Defaults fit the demo: its CA (`<data-dir>/pki/ca.pem`) and its demo identities
(`<data-dir>/tokens/<name>.jwt`, chosen with `--as`). Anywhere else: `--ca`, `--token`
(or SELEC_TOKEN), or `--insecure` for a development broker without TLS.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from selec.cli.paths import DEFAULT_BROKER, DEFAULT_DATA_DIR


def add_client_arguments(parser: argparse.ArgumentParser, default_identity: str) -> None:
    """--broker, --as, --token, --ca, --insecure, --data-dir."""
    group = parser.add_argument_group("connection")
    group.add_argument("--broker", default=DEFAULT_BROKER, help="HOST:PORT of the broker")
    group.add_argument(
        "--as",
        dest="identity",
        default=default_identity,
        help=f"demo identity: <data-dir>/tokens/<NAME>.jwt (default {default_identity})",
    )
    group.add_argument("--token", help="bearer token (default: $SELEC_TOKEN, else --as)")
    group.add_argument("--ca", type=Path, help="CA certificate (default <data-dir>/pki/ca.pem)")
    group.add_argument("--insecure", action="store_true", help="plaintext, no token")
    group.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the demo keeps pki/ and tokens/ (default $SELEC_DATA_DIR or var/demo)",
    )


@dataclass(frozen=True, slots=True)
class Connection:
    """Resolved connection settings."""

    broker: str
    ca: bytes | None
    token: str | None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata with the bearer token, if any."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


class ClientSetupError(Exception):
    """The client cannot be set up (unreadable CA or token); one line says why."""


def resolve(options: argparse.Namespace) -> Connection:
    """The connection the options (and the demo defaults) describe."""
    if options.insecure:
        return Connection(options.broker, None, None)
    data_dir = options.data_dir or Path(os.environ.get("SELEC_DATA_DIR") or DEFAULT_DATA_DIR)
    ca_path = options.ca or data_dir / "pki" / "ca.pem"
    ca = None
    if options.ca is not None or ca_path.exists():
        try:
            ca = ca_path.read_bytes()
        except OSError as exc:
            raise ClientSetupError(f"cannot read CA {ca_path}: {exc.strerror}") from None
    token = options.token or os.environ.get("SELEC_TOKEN")
    if not token:
        token_path = data_dir / "tokens" / f"{options.identity}.jwt"
        if token_path.exists():
            token = token_path.read_text(encoding="ascii").strip()
    return Connection(options.broker, ca, token)


@contextmanager
def channel(connection: Connection) -> Iterator[grpc.Channel]:
    """A channel to the broker: TLS when a CA is known, else plaintext."""
    if connection.ca is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=connection.ca)
        with grpc.secure_channel(connection.broker, credentials) as opened:
            yield opened
    else:
        with grpc.insecure_channel(connection.broker) as opened:
            yield opened


def explain(error: grpc.RpcError, broker: str) -> str:
    """One line for a failed call."""
    code = error.code()  # type: ignore[attr-defined]
    details = error.details()  # type: ignore[attr-defined]
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"no broker answers at {broker} (is `selec demo` running?)"
    return f"{code.name}: {details}"
