"""Configuration errors name the file, the key, the bad value and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.config import RATE_CLASSES, LimitsSettings, Rate, load_broker_settings
from broker.criteria import MAX_NAME_PARTS
from broker.screening import MAX_SUBJECTS
from connectors.config import load_connector_settings
from selec.cli.paths import DEMO_CONFIG_DIR
from selec.config import ConfigError
from selec.countries import MEMBER_STATES

SECRET = "ab" * 32


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "federation.key").write_text(SECRET)
    for country in MEMBER_STATES:
        (tmp_path / f"{country.lower()}.reference.key").write_text(SECRET)
    return {"SELEC_DATA_DIR": str(tmp_path)}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broker.yaml"
    path.write_text(text)
    return path


BROKER = """
listen: 127.0.0.1:50051
key_secret_file: ${SELEC_DATA_DIR}/federation.key
countries:
  RS: {endpoint: 127.0.0.1:50110, deadline_seconds: 2}
"""


def test_demo_configs_load(environ: dict[str, str]) -> None:
    broker = load_broker_settings(DEMO_CONFIG_DIR / "broker.yaml", environ=environ)
    assert [c.country for c in broker.countries] == list(MEMBER_STATES)
    for country in MEMBER_STATES:
        node = load_connector_settings(
            DEMO_CONFIG_DIR / "nodes" / f"{country.lower()}.yaml", environ=environ
        )
        assert node.country == country
        assert node.key_secret == broker.key_secret
        assert node.database.name == f"{country.lower()}.db"


def test_secret_never_in_repr(environ: dict[str, str]) -> None:
    broker = load_broker_settings(DEMO_CONFIG_DIR / "broker.yaml", environ=environ)
    assert SECRET not in repr(broker)
    assert "171" not in repr(broker)  # 0xab as a byte value


def test_environment_secret_overrides_file(environ: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, BROKER)
    settings = load_broker_settings(path, environ=environ | {"SELEC_KEY_SECRET": "cd" * 16})
    assert settings.key_secret == bytes.fromhex("cd" * 16)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            BROKER.replace("deadline_seconds: 2", "deadline_seconds: soon"),
            "countries.RS.deadline_seconds",
            "expected a number, got 'soon'",
        ),
        (
            BROKER.replace("deadline_seconds: 2", "deadline_seconds: -1"),
            "countries.RS.deadline_seconds",
            "expected a positive number, got -1",
        ),
        (BROKER.replace("RS:", "XX:"), "countries.XX", "not a member state"),
        (
            BROKER.replace("127.0.0.1:50110", "nowhere"),
            "countries.RS.endpoint",
            "expected HOST:PORT, got 'nowhere'",
        ),
        (BROKER.replace("listen:", "lisen:"), "lisen", "unknown key"),
        (BROKER.replace("listen: 127.0.0.1:50051\n", ""), "listen", "required but missing"),
        (BROKER + "retry: {attempts: 0}\n", "retry.attempts", "expected an integer >= 1, got 0"),
        (
            BROKER + "suspension: {initial_seconds: 10, max_seconds: 5}\n",
            "suspension.max_seconds",
            "must not be below initial_seconds",
        ),
        (
            BROKER.replace("${SELEC_DATA_DIR}", "${NOT_SET_ANYWHERE}"),
            "key_secret_file",
            "environment variable NOT_SET_ANYWHERE is not set",
        ),
        (BROKER.replace("federation.key", "missing.key"), "key_secret_file", "cannot read"),
        (
            BROKER + "index: {backend: elastic}\n",
            "index.backend",
            "expected one of none, sqlite, opensearch, got 'elastic'",
        ),
        (
            BROKER + "index: {backend: opensearch, url: localhost:9200}\n",
            "index.url",
            "expected an http(s):// URL",
        ),
        (BROKER + "index: {backend: sqlite}\n", "index.path", "required but missing"),
        (
            BROKER + "index: {backend: sqlite, path: x.db, prefix: Bad_Prefix}\n",
            "index.prefix",
            "expected lowercase letters",
        ),
        (
            BROKER.replace("deadline_seconds: 2}", "deadline_seconds: 2, index_only: maybe}"),
            "countries.RS.index_only",
            "expected true or false, got 'maybe'",
        ),
        (BROKER + "limits: {max_subjects: 5}\n", "limits.max_subjects", "unknown key"),
        (
            BROKER + "limits: {max_receive_message_bytes: 1000}\n",
            "limits.max_receive_message_bytes",
            "expected an integer >= 65536, got 1000",
        ),
        (
            BROKER + "limits: {max_send_message_bytes: 4MB}\n",
            "limits.max_send_message_bytes",
            "expected an integer, got '4MB'",
        ),
        (
            BROKER + "limits: {max_keys_per_search: 600}\n",
            "limits.max_keys_per_search",
            "at most 512 (what a node's Match accepts), got 600",
        ),
        (
            BROKER + "limits: {max_name_parts: 0}\n",
            "limits.max_name_parts",
            "expected an integer >= 1, got 0",
        ),
        (
            BROKER + "limits: {max_subjects_per_screening: -1}\n",
            "limits.max_subjects_per_screening",
            "expected an integer >= 1, got -1",
        ),
        (
            BROKER + "limits: {rates: {searches: {per_second: 1}}}\n",
            "limits.rates.searches",
            "unknown key (expected one of: admin, publish, requests, screen, search)",
        ),
        (
            BROKER + "limits: {rates: {search: {per_second: 0}}}\n",
            "limits.rates.search.per_second",
            "expected a positive number, got 0",
        ),
        (
            BROKER + "limits: {rates: {search: {burst: 5}}}\n",
            "limits.rates.search.per_second",
            "required but missing",
        ),
        (
            BROKER + "limits: {rates: {screen: {per_second: 10, burst: 0.5}}}\n",
            "limits.rates.screen.burst",
            "expected an integer, got 0.5",
        ),
        (
            BROKER + "limits: {rates: {search: 5}}\n",
            "limits.rates.search",
            "expected a mapping, got int",
        ),
        (
            BROKER + "limits: {callers: {XX: {a: {search: {per_second: 1}}}}}\n",
            "limits.callers.XX",
            "not a member state",
        ),
        (
            BROKER + "limits: {callers: {RO: {border: {search: {per_secnd: 1}}}}}\n",
            "limits.callers.RO.border.search.per_secnd",
            "unknown key",
        ),
        (
            BROKER + "limits: {max_tracked_callers: 0}\n",
            "limits.max_tracked_callers",
            "expected an integer >= 1, got 0",
        ),
    ],
)
def test_broker_config_errors_name_file_and_key(
    tmp_path: Path, environ: dict[str, str], text: str, key: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_broker_settings(path, environ=environ)
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_limits_are_read_with_their_defaults(tmp_path: Path, environ: dict[str, str]) -> None:
    bare = load_broker_settings(write(tmp_path, BROKER), environ=environ).limits
    assert bare == LimitsSettings()
    assert bare.max_subjects_per_screening == MAX_SUBJECTS
    assert (bare.max_name_parts, bare.max_keys_per_search) == (MAX_NAME_PARTS, 512)
    assert bare.rates == {} and bare.callers == {}
    text = BROKER + (
        "limits:\n"
        "  max_receive_message_bytes: 1048576\n"
        "  max_keys_per_search: 100\n"
        "  rates:\n"
        "    search: {per_second: 2.5}\n"
        "    screen: {per_second: 1000, burst: 5000}\n"
        "  callers:\n"
        "    RO: {border-system: {search: {per_second: 50, burst: 100}}}\n"
    )
    limits = load_broker_settings(write(tmp_path, text), environ=environ).limits
    assert limits.max_receive_message_bytes == 1048576
    assert limits.max_send_message_bytes == 4 * 1024 * 1024
    assert limits.max_keys_per_search == 100
    # burst defaults to one second's worth, rounded up
    assert limits.rates == {"search": Rate(2.5, 3), "screen": Rate(1000.0, 5000)}
    assert limits.callers == {("RO", "border-system"): {"search": Rate(50.0, 100)}}


def test_demo_and_deployed_brokers_have_rate_limits(environ: dict[str, str]) -> None:
    """The shipped configs limit every class, generously (docs/configuration.md)."""
    demo = load_broker_settings(DEMO_CONFIG_DIR / "broker.yaml", environ=environ).limits
    assert set(demo.rates) == set(RATE_CLASSES)
    # above what this machine's broker serves at all (about 80 searches/s, 2,400 subjects/s)
    assert demo.rates["search"].per_second >= 100 and demo.rates["screen"].per_second >= 20_000
    deployed = load_broker_settings(
        Path(__file__).parents[2] / "deploy" / "config" / "broker.yaml",
        environ={"SELEC_KEY_SECRET": SECRET},
    ).limits
    assert set(deployed.rates) == set(RATE_CLASSES)


def test_short_secret_is_refused(tmp_path: Path, environ: dict[str, str]) -> None:
    (tmp_path / "federation.key").write_text("abcd")
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        load_broker_settings(write(tmp_path, BROKER), environ=environ)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "listen: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broker.yaml: not valid YAML at line \d"):
        load_broker_settings(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_broker_settings(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (("country: RS", "country: FR"), "country", "expected a member state"),
        (("backend: sqlite", "backend: oracle"), "store.backend", "expected one of sqlite"),
        (("path: ", "pth: "), "store.pth", "unknown key"),
        (("broker: 127.0.0.1:50051", "broker: nowhere"), "publish.broker", "expected HOST:PORT"),
        (
            ("interval_seconds: 3600", "interval_seconds: 0"),
            "publish.interval_seconds",
            "expected a positive number, got 0",
        ),
        (("  broker: 127.0.0.1:50051\n", ""), "publish.broker", "required when publishing"),
    ],
)
def test_connector_config_errors(
    tmp_path: Path, environ: dict[str, str], change: tuple[str, str], key: str, problem: str
) -> None:
    text = (DEMO_CONFIG_DIR / "nodes" / "rs.yaml").read_text().replace(*change)
    path = tmp_path / "rs.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_connector_settings(path, environ=environ)
    assert (caught.value.source, caught.value.key) == (str(path), key)
    assert problem in caught.value.problem
