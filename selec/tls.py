"""Transport security: the demo PKI (`selec certs`) and gRPC credentials from PEM files.

Broker and nodes talk over mutual TLS: each node requires a client certificate signed by
the federation's CA and accepts only the broker's (CN "broker"); the broker accepts a
node's publication only over a certificate naming that node ("node-rs"). A file that
cannot be read fails the start with one line naming it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from selec.config import ConfigReader
from selec.countries import MEMBER_STATES

BROKER_NAME = "broker"
VALIDITY = dt.timedelta(days=365)


class TlsError(Exception):
    """A certificate or key cannot be used; the message names the file."""


def tls_files_from(section: ConfigReader) -> TlsFiles | None:
    """A config `tls:` section (ca_file, cert_file, key_file), or None when absent."""
    if not any(True for _ in section):
        return None
    section.reject_unknown({"ca_file", "cert_file", "key_file"})
    return TlsFiles(section.path("ca_file"), section.path("cert_file"), section.path("key_file"))


def node_name(country: str) -> str:
    """The certificate common name of a country's node."""
    return f"node-{country.lower()}"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of one party: the federation CA, its own certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(ca, cert, key) bytes; TlsError naming the unreadable file."""
        out = []
        for path in (self.ca_file, self.cert_file, self.key_file):
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise TlsError(f"cannot read {path}: {exc.strerror}") from None
            if b"-----BEGIN" not in data:
                raise TlsError(f"{path} is not a PEM file")
            out.append(data)
        return out[0], out[1], out[2]

    def server_credentials(self, require_client_auth: bool) -> grpc.ServerCredentials:
        """Credentials of a server; require_client_auth makes it mutual TLS."""
        ca, cert, key = self.read()
        return grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=require_client_auth
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Credentials of a client presenting its certificate."""
        ca, cert, key = self.read()
        return grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=key, certificate_chain=cert
        )


def peer_common_name(context: grpc.aio.ServicerContext) -> str | None:
    """The CN of the caller's verified client certificate, if any."""
    auth = context.auth_context() or {}
    names = auth.get("x509_common_name") or []
    return names[0].decode() if names else None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SELEC demo federation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_demo_pki(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> None:
    """A CA and certificates for the broker and the 11 nodes, valid for hosts.

    Files: ca.pem, ca.key, broker.pem/.key, node-<cc>.pem/.key. For demos and tests;
    production uses the federation's own PKI.
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("SELEC demo CA"))
        .issuer_name(_name("SELEC demo CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / "ca.key", _key_pem(ca_key), private=True)
    _write(directory / "ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    for name in (BROKER_NAME, *(node_name(c) for c in MEMBER_STATES)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(
                x509.SubjectAlternativeName([*alt_names, x509.DNSName(name)]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        _write(directory / f"{name}.key", _key_pem(key), private=True)
        _write(directory / f"{name}.pem", cert.public_bytes(serialization.Encoding.PEM))


def files_for(directory: Path, name: str) -> TlsFiles:
    """The demo PKI files of one party."""
    return TlsFiles(directory / "ca.pem", directory / f"{name}.pem", directory / f"{name}.key")
