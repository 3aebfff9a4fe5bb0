"""Reading YAML configuration into typed settings, with errors that name file and key.

Each service builds one frozen settings object at start (see broker.config and
connectors.config) through a `ConfigReader`, which knows the file it reads and the dotted
path of every value, so a mistake is reported as
``config/demo/broker.yaml: countries.RS.deadline_seconds: expected a positive number, got 'soon'``.

String values may refer to the environment as ``${NAME}`` or ``${NAME:-default}``, so one
file serves several data directories and secrets never have to be written into it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MISSING = object()


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names file and key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


def load_yaml(path: Path, environ: Mapping[str, str] | None = None) -> ConfigReader:
    """Read a YAML mapping from path; any failure is a ConfigError naming the file.

    environ (default: the process environment) resolves ${NAME} references.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(source, "", f"not valid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(source, "", "expected a mapping at the top level")
    return ConfigReader(source, data, "", base_dir=path.parent, environ=environ)


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """Replace ${NAME} and ${NAME:-default} with values from environ."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        raise KeyError(name)

    return _ENV_REFERENCE.sub(substitute, value)


class ConfigReader:
    """Typed, path-aware access to one mapping of a configuration file."""

    def __init__(
        self,
        source: str,
        data: Mapping[str, Any],
        prefix: str,
        base_dir: Path,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self._data = data
        self._prefix = prefix
        self.base_dir = base_dir
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    def key_path(self, key: str) -> str:
        """Dotted path of key below this mapping, as error messages show it."""
        if not key:
            return self._prefix
        return f"{self._prefix}.{key}" if self._prefix else key

    def error(self, key: str, problem: str) -> ConfigError:
        """A ConfigError for key of this mapping."""
        return ConfigError(self.source, self.key_path(key), problem)

    def __iter__(self) -> Iterator[str]:
        """The keys present, as strings."""
        return (str(k) for k in self._data)

    def has(self, key: str) -> bool:
        """Whether key is present (and not null)."""
        return self._data.get(key) is not None

    def reject_unknown(self, allowed: set[str]) -> None:
        """Fail on keys this mapping does not know: a typo must not be silently ignored."""
        for key in self:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise self.error(key, f"unknown key (expected one of: {expected})")

    def _raw(self, key: str, default: object) -> Any:
        value = self._data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise self.error(key, "required but missing")
            return default
        return value

    def string(self, key: str, default: object = _MISSING) -> str:
        """A string, with ${ENV} references expanded."""
        value = self._raw(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        try:
            return expand_env(value, self.environ)
        except KeyError as exc:
            raise self.error(key, f"environment variable {exc.args[0]} is not set") from None

    def number(
        self,
        key: str,
        default: object = _MISSING,
        minimum: float | None = None,
        positive: bool = False,
    ) -> float:
        """A number (int or float); positive excludes zero, minimum is inclusive."""
        value = self._raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise self.error(key, f"expected a positive number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"expected a number >= {minimum}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: object = _MISSING, minimum: int | None = None) -> int:
        """An integer, optionally bounded below."""
        value = self._raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def boolean(self, key: str, default: object = _MISSING) -> bool:
        """A YAML boolean."""
        value = self._raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def path(self, key: str, default: object = _MISSING) -> Path:
        """A filesystem path; relative paths resolve against the file's directory."""
        raw = self.string(key, default)
        candidate = Path(raw).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    def address(self, key: str, default: object = _MISSING) -> str:
        """A HOST:PORT listen or connect address."""
        value = self.string(key, default)
        check_address(value, lambda problem: self.error(key, problem))
        return value

    def optional_address(self, key: str) -> str | None:
        """A HOST:PORT address, or None when the key is absent."""
        return self.address(key) if self.has(key) else None

    def section(self, key: str, required: bool = True) -> ConfigReader:
        """A nested mapping; an absent optional section reads as empty."""
        value = self._data.get(key)
        if value is None:
            if required:
                raise self.error(key, "required but missing")
            value = {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, got {type(value).__name__}")
        return ConfigReader(self.source, value, self.key_path(key), self.base_dir, self.environ)


def check_address(value: str, fail: Any) -> None:
    """Raise fail(problem) unless value is HOST:PORT with a port in 0..65535."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise fail(f"expected HOST:PORT, got {value!r}")


def read_secret(reader: ConfigReader, file_key: str, env_name: str) -> bytes:
    """A secret from the environment variable env_name (hex) or else the file at file_key.

    Secrets never live in the YAML itself: the file holds a path, the environment
    (e.g. SELEC_KEY_SECRET, set by an orchestrator) overrides it.
    """
    from_env = reader.environ.get(env_name)
    if from_env:
        try:
            secret = bytes.fromhex(from_env.strip())
        except ValueError:
            raise ConfigError(f"${env_name}", "", "expected hex digits") from None
        where = f"${env_name}"
    else:
        path = reader.path(file_key)
        try:
            secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except OSError as exc:
            raise reader.error(file_key, f"cannot read {path}: {exc.strerror}") from None
        except ValueError:
            raise reader.error(file_key, f"{path} must hold hex digits") from None
        where = f"{reader.source}: {reader.key_path(file_key)}"
    if len(secret) < 16:
        raise ConfigError(where, "", "secret must be at least 16 bytes (32 hex digits)")
    return secret
