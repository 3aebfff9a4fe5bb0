"""The container recipe (Dockerfile, .dockerignore, compose.yaml, deploy/config) checked
without Docker.

Docker does not run on every developer's machine nor in CI, so an image that cannot start
would only show in production. What can break is checked here with the project's own
code: every config loads with the real loaders, every command the image and compose run
parses with the real `selec` parser, compose and the broker agree on service names,
secrets and volumes, the image's health probe works against a real server, and the
build context holds every package the wheel needs and no secret.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml
from grpc_health.v1 import health_pb2

from broker.config import load_broker_settings
from connectors.config import load_connector_settings
from selec.cli.main import build_parser
from selec.countries import MEMBER_STATES
from selec.serving import start_server

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
CONFIG_DIR = ROOT / "deploy" / "config"
CONTAINER_CONFIG_DIR = PurePosixPath("/etc/selec")
SECRETS_DIR = PurePosixPath("/run/secrets")
DATA_DIR = PurePosixPath("/var/lib/selec")
PYTHON_IMAGE = "python:3.11-slim"
GRPC_PORT = 50051
METRICS_PORT = 9150
PACKAGES = ("selec", "broker", "connectors")


def secret_environ() -> dict[str, str]:
    """Every secret through its documented environment override, as an orchestrator would
    hand it in; the files under /run/secrets do not exist on this machine."""
    environ = {"SELEC_KEY_SECRET": "ab" * 32}
    for country in MEMBER_STATES:
        environ[f"SELEC_REFERENCE_SECRET_{country}"] = f"{ord(country[0]):02x}" * 32
    return environ


# --- Dockerfile ----------------------------------------------------------------------


@dataclass
class Stage:
    """One FROM ... stage: its base image, name and instructions (keyword, argument)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for word, argument in self.instructions if word == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"the stage FROM {self.base} has no {keyword}"
        return found[-1]


def dockerfile_instructions(text: str) -> Iterator[tuple[str, str]]:
    """(KEYWORD, argument) pairs; comments dropped, backslash continuations joined."""
    logical = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not logical:
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        if logical.strip():
            keyword, _, argument = logical.strip().partition(" ")
            yield keyword.upper(), argument.strip()
        logical = ""


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's stages, with global ARG defaults substituted into FROM."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, argument in dockerfile_instructions(DOCKERFILE.read_text()):
        if keyword == "ARG" and not stages:
            name, _, default = argument.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = argument.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, argument))
    return stages


def exec_form(argument: str) -> list[str]:
    """An instruction in exec (JSON) form; shell form would not get SIGTERM to selec."""
    assert argument.startswith("["), f"expected exec form (a JSON array), got {argument}"
    value = json.loads(argument)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def final_stage() -> Stage:
    return dockerfile_stages()[-1]


def image_entrypoint() -> list[str]:
    return exec_form(final_stage().last("ENTRYPOINT"))


def host_config(container_path: str) -> Path:
    """The file under deploy/config that the image (and compose) puts at container_path."""
    relative = PurePosixPath(container_path).relative_to(CONTAINER_CONFIG_DIR)
    return CONFIG_DIR / relative


def test_the_image_is_built_in_two_stages_on_python_3_11_slim() -> None:
    builder, final = dockerfile_stages()
    assert builder.base == PYTHON_IMAGE
    assert builder.name == "builder"
    assert final.base == PYTHON_IMAGE
    assert any("pip wheel" in run for run in builder.all("RUN"))


def test_the_final_stage_holds_only_the_venv_and_the_config() -> None:
    final = final_stage()
    copies = [shlex.split(c) for c in final.all("COPY")]
    assert sorted(c[1:] for c in copies if c[0] == "--from=builder") == [["/opt/venv", "/opt/venv"]]
    assert [c for c in copies if not c[0].startswith("--from")] == [
        ["deploy/config", str(CONTAINER_CONFIG_DIR)]
    ]
    runs = " ".join(final.all("RUN"))
    for tool in ("pip install", "apt-get", "gcc", "build-essential"):
        assert tool not in runs, f"the final stage must not run {tool}"
    assert "pip uninstall" in runs


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    user = final_stage().last("USER").split(":")[0]
    assert user not in {"root", "0", ""}


def test_the_default_command_runs_the_broker_with_the_image_config() -> None:
    entrypoint = image_entrypoint()
    assert entrypoint == ["selec"]
    command = exec_form(final_stage().last("CMD"))
    options = build_parser().parse_args(command)
    assert options.command == "broker"
    assert host_config(str(options.config)).is_file()


def test_the_same_image_runs_a_connector() -> None:
    options = build_parser().parse_args(["connector", "--config", "/etc/selec/nodes/rs.yaml"])
    assert options.command == "connector"
    assert host_config(str(options.config)).is_file()


def test_the_exposed_ports_are_the_ones_every_config_listens_on() -> None:
    assert final_stage().last("EXPOSE").split() == [str(GRPC_PORT), str(METRICS_PORT)]
    for path in [CONFIG_DIR / "broker.yaml", *sorted(CONFIG_DIR.glob("nodes/*.yaml"))]:
        raw = yaml.safe_load(path.read_text())
        assert raw["listen"] == f"0.0.0.0:{GRPC_PORT}", path
        assert raw["metrics_listen"] == f"0.0.0.0:{METRICS_PORT}", path


def healthcheck_command() -> list[str]:
    argument = final_stage().last("HEALTHCHECK")
    return exec_form(argument[argument.index("CMD") + len("CMD") :].strip())


async def run_probe(address: str) -> int:
    """The image's HEALTHCHECK command, with this interpreter as the image's python."""
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:],
        env={"SELEC_HEALTH_ADDRESS": address},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_health_probe_passes_while_serving_and_fails_otherwise() -> None:
    server = await start_server("127.0.0.1:0", lambda _server: None, [])
    address = f"127.0.0.1:{server.port}"
    try:
        assert await run_probe(address) == 0
        await server.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert await run_probe(address) == 1
    finally:
        await server.stop(0)
    assert await run_probe(address) == 1


# --- build context and wheel ---------------------------------------------------------


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) per line, in order: Docker's rules, the last match wins."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        patterns.append((not include, re.compile(regex + "$")))
    return patterns


def ignored(path: str) -> bool:
    """Whether the build context leaves path out (a pattern matching a parent counts)."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for exclude, pattern in dockerignore_patterns():
        if any(pattern.match(candidate) for candidate in candidates):
            excluded = exclude
    return excluded


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_secret() -> None:
    for stage in dockerfile_stages():
        for copy in stage.all("COPY"):
            words = [w for w in shlex.split(copy) if not w.startswith("--")]
            if copy.startswith("--from"):
                continue
            for source in words[:-1]:
                assert (ROOT / source).exists(), source
                assert not ignored(source), f".dockerignore leaves out {source}"
    for path in (
        "deploy/secrets/federation.key",
        "var/demo/federation.key",
        ".venv/bin/python",
        ".git/HEAD",
        "selec/__pycache__/main.cpython-311.pyc",
        "tests/federation.py",
    ):
        assert ignored(path), f"{path} would be sent to the Docker daemon"


def test_the_builder_copies_every_package_the_wheel_is_made_of() -> None:
    """A package the builder does not copy, or a module directory without __init__.py
    (setuptools' find_packages skips it), would be missing from the image only."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    includes = project["packages"]["find"]["include"]
    copied = {
        shlex.split(c)[0] for c in dockerfile_stages()[0].all("COPY") if not c.startswith("--")
    }
    for package in PACKAGES:
        assert any(fnmatch.fnmatch(package, pattern) for pattern in includes), package
        assert package in copied, f"the builder stage does not COPY {package}"
        for directory in {p.parent for p in (ROOT / package).rglob("*.py")}:
            if "__pycache__" not in directory.parts:
                assert (directory / "__init__.py").is_file(), f"{directory} has no __init__.py"
    data_globs = [g for globs in project["package-data"].values() for g in globs]
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and path.suffix not in {".py", ".pyc"}:
                assert any(fnmatch.fnmatch(path.name, g) for g in data_globs), (
                    f"{path.relative_to(ROOT)} is not package data: the wheel would lack it"
                )


# --- deploy/config -------------------------------------------------------------------


def test_the_broker_config_loads_and_uses_the_shared_opensearch_index() -> None:
    settings = load_broker_settings(CONFIG_DIR / "broker.yaml", environ=secret_environ())
    assert [c.country for c in settings.countries] == list(MEMBER_STATES)
    for country in settings.countries:
        assert country.endpoint == f"connector-{country.country.lower()}:{GRPC_PORT}"
    assert settings.index.backend == "opensearch"
    assert settings.index.opensearch_url == "http://opensearch:9200"
    raw = yaml.safe_load((CONFIG_DIR / "broker.yaml").read_text())
    assert raw["key_secret_file"] == str(SECRETS_DIR / "federation_key")


@pytest.mark.parametrize("country", MEMBER_STATES)
def test_each_node_config_loads_and_publishes_to_the_broker(country: str) -> None:
    path = CONFIG_DIR / "nodes" / f"{country.lower()}.yaml"
    settings = load_connector_settings(path, environ=secret_environ())
    assert settings.country == country
    assert settings.listen == f"0.0.0.0:{GRPC_PORT}"
    assert PurePosixPath(settings.database).parent == DATA_DIR
    assert settings.publish is not None
    assert settings.publish.broker == f"broker:{GRPC_PORT}"
    raw = yaml.safe_load(path.read_text())
    assert raw["key_secret_file"] == str(SECRETS_DIR / "federation_key")
    assert raw["reference_secret_file"] == str(SECRETS_DIR / f"{country.lower()}_reference_key")


def test_deploy_config_holds_a_node_per_member_state_and_nothing_else() -> None:
    names = sorted(p.stem.upper() for p in CONFIG_DIR.glob("nodes/*.yaml"))
    assert names == sorted(MEMBER_STATES)


def test_secrets_files_stay_out_of_git() -> None:
    ignore = (ROOT / "deploy" / ".gitignore").read_text().split()
    assert "secrets/" in ignore


# --- compose.yaml --------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def selec_services() -> dict[str, dict]:
    """The services that run the project's image (all but OpenSearch)."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if "selec-federation" in service.get("image", "")
    }


def service_command(service: dict) -> list[str]:
    """argv after `selec`: the service's command behind the image's ENTRYPOINT."""
    entrypoint = service.get("entrypoint", image_entrypoint())
    assert entrypoint == ["selec"], entrypoint
    return service.get("command", exec_form(final_stage().last("CMD")))


def test_compose_runs_a_broker_and_a_node_per_member_state() -> None:
    services = selec_services()
    expected = {"broker", *(f"connector-{c.lower()}" for c in MEMBER_STATES)}
    assert set(services) == expected
    assert "opensearch" in compose()["services"]


@pytest.mark.parametrize("name", ["broker", *(f"connector-{c.lower()}" for c in MEMBER_STATES)])
def test_every_compose_command_parses_and_names_a_mounted_config(name: str) -> None:
    service = selec_services()[name]
    options = build_parser().parse_args(service_command(service))
    assert options.command == ("broker" if name == "broker" else "connector")
    assert f"./deploy/config:{CONTAINER_CONFIG_DIR}:ro" in service["volumes"]
    config = host_config(str(options.config))
    assert config.is_file(), config
    secrets = set(service["secrets"])
    assert "federation_key" in secrets
    if name != "broker":
        country = name.removeprefix("connector-")
        assert config == CONFIG_DIR / "nodes" / f"{country}.yaml"
        assert f"{country}_reference_key" in secrets
        assert f"{country}-data:{DATA_DIR}" in service["volumes"]


def test_every_secret_is_a_file_under_deploy_secrets() -> None:
    secrets = compose()["secrets"]
    expected = {"federation_key", *(f"{c.lower()}_reference_key" for c in MEMBER_STATES)}
    assert set(secrets) == expected
    for name, secret in secrets.items():
        assert set(secret) == {"file"}, f"secret {name} must come from a file"
        assert secret["file"].startswith("./deploy/secrets/"), secret
        assert ignored(secret["file"].removeprefix("./"))


def test_each_node_database_has_its_own_volume() -> None:
    volumes = compose()["volumes"]
    for country in MEMBER_STATES:
        assert f"{country.lower()}-data" in volumes


def test_opensearch_is_one_small_single_node_without_security() -> None:
    service = compose()["services"]["opensearch"]
    assert service["image"].startswith("opensearchproject/opensearch:2.19.")
    environment = service["environment"]
    assert environment["discovery.type"] == "single-node"
    assert environment["DISABLE_SECURITY_PLUGIN"] == "true"
    assert "-Xmx" in environment["OPENSEARCH_JAVA_OPTS"]
    broker = compose()["services"]["broker"]
    assert broker["depends_on"]["opensearch"]["condition"] == "service_healthy"


def test_only_the_broker_is_published_and_on_loopback() -> None:
    for name, service in compose()["services"].items():
        if name == "broker":
            assert service["ports"] == [f"127.0.0.1:{GRPC_PORT}:{GRPC_PORT}"]
        else:
            assert "ports" not in service, f"{name} must not be reachable from outside"
