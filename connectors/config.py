"""Settings of one member-state node, read from YAML (see docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from selec.config import ConfigReader, load_yaml, read_secret
from selec.countries import MEMBER_STATES

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

    def __repr__(self) -> str:
        return f"ConnectorSettings(country={self.country!r}, listen={self.listen!r})"


def load_connector_settings(
    path: Path, listen: str | None = None, environ: Mapping[str, str] | None = None
) -> ConnectorSettings:
    """Read and validate a node's YAML file; listen overrides the file's address."""
    reader = load_yaml(path, environ)
    reader.reject_unknown(
        {"country", "listen", "store", "key_secret_file", "reference_secret_file", "grace_seconds"}
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
    )
