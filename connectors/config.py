"""Settings of one member-state node, read from YAML (see docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from connectors.publisher import PublishSchedule
from selec.config import ConfigReader, load_yaml, read_secret
from selec.countries import MEMBER_STATES
from selec.tls import TlsFiles, tls_files_from

BACKENDS = ("sqlite",)


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    """Everything a node needs to run. Secrets are bytes, never printed."""

    source: str
    country: str
    listen: str
    backend: str
    database: Path
    key_secret: bytes
    reference_secret: bytes
    grace_seconds: float
    publish: PublishSchedule | None = None
    metrics_listen: str | None = None
    tls: TlsFiles | None = None
    broker_public_key: Path | None = None

    def __repr__(self) -> str:
        return f"ConnectorSettings(country={self.country!r}, listen={self.listen!r})"

    def without_transport_security(self) -> ConnectorSettings:
        """The same settings in plaintext and without a publishing token (development)."""
        publish = replace(self.publish, token_file=None) if self.publish else None
        return replace(self, tls=None, publish=publish)

    def with_publish_broker(self, broker: str) -> ConnectorSettings:
        """The same settings publishing to another broker address (the demo's ports)."""
        if self.publish is None:
            return self
        return replace(self, publish=replace(self.publish, broker=broker))


def load_connector_settings(
    path: Path, listen: str | None = None, environ: Mapping[str, str] | None = None
) -> ConnectorSettings:
    """Read and validate a node's YAML file; listen overrides the file's address."""
    reader = load_yaml(path, environ)
    reader.reject_unknown(
        {
            "country",
            "listen",
            "store",
            "key_secret_file",
            "reference_secret_file",
            "grace_seconds",
            "publish",
            "metrics_listen",
            "tls",
            "broker_public_key_file",
        }
    )
    return connector_settings_from(reader, listen)


def connector_settings_from(reader: ConfigReader, listen: str | None = None) -> ConnectorSettings:
    """ConnectorSettings from an already opened mapping."""
    country = reader.string("country").upper()
    if country not in MEMBER_STATES:
        raise reader.error(
            "country", f"expected a member state ({', '.join(MEMBER_STATES)}), got {country!r}"
        )
    store = reader.section("store")
    store.reject_unknown({"backend", "path"})
    backend = store.string("backend", "sqlite")
    if backend not in BACKENDS:
        raise store.error("backend", f"expected one of {', '.join(BACKENDS)}, got {backend!r}")
    return ConnectorSettings(
        source=reader.source,
        country=country,
        listen=listen or reader.address("listen"),
        backend=backend,
        database=store.path("path"),
        key_secret=read_secret(reader, "key_secret_file", "SELEC_KEY_SECRET"),
        reference_secret=read_secret(
            reader, "reference_secret_file", f"SELEC_REFERENCE_SECRET_{country}"
        ),
        grace_seconds=reader.number("grace_seconds", 5.0, minimum=0),
        publish=_publish(reader.section("publish", required=False)),
        metrics_listen=reader.optional_address("metrics_listen"),
        tls=tls_files_from(reader.section("tls", required=False)),
        broker_public_key=reader.path("broker_public_key_file")
        if reader.has("broker_public_key_file")
        else None,
    )


def _publish(section: ConfigReader) -> PublishSchedule | None:
    section.reject_unknown(
        {"broker", "interval_seconds", "on_start", "deadline_seconds", "token_file"}
    )
    if not section.has("broker"):
        if any(True for _ in section):
            raise section.error("broker", "required when publishing is configured")
        return None
    return PublishSchedule(
        broker=section.address("broker"),
        interval_seconds=section.number("interval_seconds", 3600.0, positive=True),
        on_start=section.boolean("on_start", True),
        deadline_seconds=section.number("deadline_seconds", 600.0, positive=True),
        token_file=section.path("token_file") if section.has("token_file") else None,
    )
