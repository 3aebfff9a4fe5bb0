"""Configuration errors name the file, the key, the bad value and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.config import load_broker_settings
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
