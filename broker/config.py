"""Settings of the broker, read from YAML (see docs/configuration.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from broker.criteria import MAX_KEYS_PER_SEARCH, MAX_NAME_PARTS
from selec.config import ConfigReader, load_yaml, read_secret
from selec.countries import MEMBER_STATES
from selec.tls import TlsFiles, tls_files_from


@dataclass(frozen=True, slots=True)
class CountrySettings:
    """How the broker reaches one member state's node."""

    country: str
    endpoint: str
    deadline_seconds: float
    index_only: bool = False
    decision_deadline_hours: float = 48.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of the read-only Match call, for transient failures only."""

    attempts: int
    backoff_seconds: float


@dataclass(frozen=True, slots=True)
class SuspensionPolicy:
    """When to stop calling a node that keeps failing, and for how long."""

    after_failures: int
    initial_seconds: float
    max_seconds: float


INDEX_BACKENDS = ("none", "sqlite", "opensearch")


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """The reference index: which backend and where."""

    backend: str
    sqlite_path: Path | None = None
    opensearch_url: str | None = None
    prefix: str = "selec"
    lookup_timeout_seconds: float = 1.0

    @property
    def enabled(self) -> bool:
        """Whether the broker has a reference index at all."""
        return self.backend != "none"

    def sqlite_beside(self, name: str) -> Path | None:
        """Another SQLite file next to the index (requests, audit)."""
        if self.sqlite_path is None:
            return None
        return self.sqlite_path.with_name(f"{self.sqlite_path.stem}-{name}.db")


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """TLS files, the token issuer's key and the grant signing key (all optional in dev)."""

    tls: TlsFiles | None = None
    token_public_key: Path | None = None
    token_audience: str = "selec-broker"
    grant_signing_key: Path | None = None


# What each per-caller rate limit counts (broker.limits): Search calls, Screen subjects,
# RequestService calls, Publish calls, and GetStatus/AuditService calls.
RATE_CLASSES = ("search", "screen", "requests", "publish", "admin")
DEFAULT_MESSAGE_BYTES = 4 * 1024 * 1024
MIN_MESSAGE_BYTES = 64 * 1024
DEFAULT_MAX_SUBJECTS = 2_000_000  # broker.screening.MAX_SUBJECTS (a test keeps them equal)


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: `per_second` sustained, up to `burst` at once after a pause."""

    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class LimitsSettings:
    """How much one caller may send and how fast (docs/configuration.md, `limits:`).

    Size limits always apply (their defaults are the product's); rate limits apply only
    to the classes configured, per caller (`rates`), with per-caller overrides (`callers`,
    by country then token subject, e.g. a national screening system's account).
    """

    max_receive_message_bytes: int = DEFAULT_MESSAGE_BYTES
    max_send_message_bytes: int = DEFAULT_MESSAGE_BYTES
    max_name_parts: int = MAX_NAME_PARTS
    max_keys_per_search: int = MAX_KEYS_PER_SEARCH
    max_subjects_per_screening: int = DEFAULT_MAX_SUBJECTS
    rates: Mapping[str, Rate] = field(default_factory=dict)
    callers: Mapping[tuple[str, str], Mapping[str, Rate]] = field(default_factory=dict)
    max_tracked_callers: int = 100_000


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Everything the broker needs to run. The key secret is bytes, never printed."""

    source: str
    listen: str
    key_secret: bytes
    countries: tuple[CountrySettings, ...]
    retry: RetryPolicy
    suspension: SuspensionPolicy
    answer_margin_seconds: float
    grace_seconds: float
    index: IndexSettings = IndexSettings("none")
    workers: int = 1
    metrics_listen: str | None = None
    security: SecuritySettings = SecuritySettings()
    limits: LimitsSettings = LimitsSettings()

    def __repr__(self) -> str:
        return f"BrokerSettings(listen={self.listen!r}, countries={len(self.countries)})"

    def country(self, code: str) -> CountrySettings:
        """Settings of one country; KeyError when it is not configured."""
        for entry in self.countries:
            if entry.country == code:
                return entry
        raise KeyError(code)


def load_broker_settings(
    path: Path, listen: str | None = None, environ: Mapping[str, str] | None = None
) -> BrokerSettings:
    """Read and validate the broker's YAML file; listen overrides the file's address."""
    reader = load_yaml(path, environ)
    reader.reject_unknown(
        {
            "listen",
            "key_secret_file",
            "countries",
            "retry",
            "suspension",
            "answer_margin_seconds",
            "grace_seconds",
            "index",
            "workers",
            "metrics_listen",
            "tls",
            "auth",
            "grants",
            "limits",
        }
    )
    return BrokerSettings(
        source=reader.source,
        listen=listen or reader.address("listen"),
        key_secret=read_secret(reader, "key_secret_file", "SELEC_KEY_SECRET"),
        countries=_countries(reader.section("countries")),
        retry=_retry(reader.section("retry", required=False)),
        suspension=_suspension(reader.section("suspension", required=False)),
        answer_margin_seconds=reader.number("answer_margin_seconds", 0.05, minimum=0),
        grace_seconds=reader.number("grace_seconds", 5.0, minimum=0),
        index=_index(reader.section("index", required=False)),
        workers=_workers(reader, listen),
        metrics_listen=reader.optional_address("metrics_listen"),
        security=_security(reader),
        limits=_limits(reader.section("limits", required=False)),
    )


def _security(reader: ConfigReader) -> SecuritySettings:
    auth = reader.section("auth", required=False)
    auth.reject_unknown({"token_public_key_file", "audience"})
    grants = reader.section("grants", required=False)
    grants.reject_unknown({"signing_key_file"})
    return SecuritySettings(
        tls=tls_files_from(reader.section("tls", required=False)),
        token_public_key=auth.path("token_public_key_file")
        if auth.has("token_public_key_file")
        else None,
        token_audience=auth.string("audience", "selec-broker"),
        grant_signing_key=grants.path("signing_key_file")
        if grants.has("signing_key_file")
        else None,
    )


def _workers(reader: ConfigReader, listen: str | None) -> int:
    workers = reader.integer("workers", 1, minimum=1)
    address = listen or reader.address("listen")
    if workers > 1 and address.endswith(":0"):
        raise reader.error("workers", "several workers need a fixed listen port, not 0")
    return workers


def _countries(section: ConfigReader) -> tuple[CountrySettings, ...]:
    result = []
    for code in section:
        if code not in MEMBER_STATES:
            raise section.error(
                code, f"not a member state (expected one of {', '.join(MEMBER_STATES)})"
            )
        entry = section.section(code)
        entry.reject_unknown(
            {"endpoint", "deadline_seconds", "index_only", "decision_deadline_hours"}
        )
        result.append(
            CountrySettings(
                country=code,
                endpoint=entry.address("endpoint"),
                deadline_seconds=entry.number("deadline_seconds", 2.0, positive=True),
                index_only=entry.boolean("index_only", False),
                decision_deadline_hours=entry.number(
                    "decision_deadline_hours", 48.0, positive=True
                ),
            )
        )
    if not result:
        raise section.error("", "at least one country is required")
    return tuple(result)


def _index(section: ConfigReader) -> IndexSettings:
    section.reject_unknown({"backend", "path", "url", "prefix", "lookup_timeout_seconds"})
    backend = section.string("backend", "none")
    if backend not in INDEX_BACKENDS:
        raise section.error(
            "backend", f"expected one of {', '.join(INDEX_BACKENDS)}, got {backend!r}"
        )
    timeout = section.number("lookup_timeout_seconds", 1.0, positive=True)
    prefix = section.string("prefix", "selec")
    if not prefix or not prefix.replace("-", "").isalnum() or prefix != prefix.lower():
        raise section.error("prefix", f"expected lowercase letters, digits and -, got {prefix!r}")
    if backend == "sqlite":
        return IndexSettings(
            backend, sqlite_path=section.path("path"), prefix=prefix, lookup_timeout_seconds=timeout
        )
    if backend == "opensearch":
        url = section.string("url")
        if not url.startswith(("http://", "https://")):
            raise section.error("url", f"expected an http(s):// URL, got {url!r}")
        return IndexSettings(
            backend, opensearch_url=url, prefix=prefix, lookup_timeout_seconds=timeout
        )
    return IndexSettings("none")


def _retry(section: ConfigReader) -> RetryPolicy:
    section.reject_unknown({"attempts", "backoff_seconds"})
    return RetryPolicy(
        attempts=section.integer("attempts", 2, minimum=1),
        backoff_seconds=section.number("backoff_seconds", 0.05, minimum=0),
    )


def _suspension(section: ConfigReader) -> SuspensionPolicy:
    section.reject_unknown({"after_failures", "initial_seconds", "max_seconds"})
    policy = SuspensionPolicy(
        after_failures=section.integer("after_failures", 3, minimum=1),
        initial_seconds=section.number("initial_seconds", 5.0, positive=True),
        max_seconds=section.number("max_seconds", 300.0, positive=True),
    )
    if policy.max_seconds < policy.initial_seconds:
        raise section.error("max_seconds", "must not be below initial_seconds")
    return policy


def _limits(section: ConfigReader) -> LimitsSettings:
    section.reject_unknown(
        {
            "max_receive_message_bytes",
            "max_send_message_bytes",
            "max_name_parts",
            "max_keys_per_search",
            "max_subjects_per_screening",
            "rates",
            "callers",
            "max_tracked_callers",
        }
    )
    keys = section.integer("max_keys_per_search", MAX_KEYS_PER_SEARCH, minimum=1)
    if keys > MAX_KEYS_PER_SEARCH:
        raise section.error(
            "max_keys_per_search",
            f"at most {MAX_KEYS_PER_SEARCH} (what a node's Match accepts), got {keys}",
        )
    callers: dict[tuple[str, str], Mapping[str, Rate]] = {}
    by_country = section.section("callers", required=False)
    for country in by_country:
        if country not in MEMBER_STATES:
            raise by_country.error(
                country, f"not a member state (expected one of {', '.join(MEMBER_STATES)})"
            )
        officers = by_country.section(country)
        for officer in officers:
            callers[(country, officer)] = _rates(officers.section(officer))
    return LimitsSettings(
        max_receive_message_bytes=section.integer(
            "max_receive_message_bytes", DEFAULT_MESSAGE_BYTES, minimum=MIN_MESSAGE_BYTES
        ),
        max_send_message_bytes=section.integer(
            "max_send_message_bytes", DEFAULT_MESSAGE_BYTES, minimum=MIN_MESSAGE_BYTES
        ),
        max_name_parts=section.integer("max_name_parts", MAX_NAME_PARTS, minimum=1),
        max_keys_per_search=keys,
        max_subjects_per_screening=section.integer(
            "max_subjects_per_screening", DEFAULT_MAX_SUBJECTS, minimum=1
        ),
        rates=_rates(section.section("rates", required=False)),
        callers=callers,
        max_tracked_callers=section.integer("max_tracked_callers", 100_000, minimum=1),
    )


def _rates(section: ConfigReader) -> dict[str, Rate]:
    section.reject_unknown(set(RATE_CLASSES))
    rates = {}
    for name in section:
        entry = section.section(name)
        entry.reject_unknown({"per_second", "burst"})
        per_second = entry.number("per_second", positive=True)
        rates[name] = Rate(
            per_second, entry.integer("burst", max(1, math.ceil(per_second)), minimum=1)
        )
    return rates
