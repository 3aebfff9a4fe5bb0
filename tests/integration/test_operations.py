"""What operators rely on: metrics promtool accepts, health, request ids, selec status."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker.config import IndexSettings, SuspensionPolicy
from broker.server import SERVICE_NAME as BROKER_SERVICE
from connectors.node import SERVICE_NAME as NODE_SERVICE
from connectors.node import open_store, start_node
from connectors.store import StoreError
from selec.countries import MEMBER_STATES
from selec.observability import configure_logging
from selec.v1 import broker_pb2
from tests.federation import node_settings, person, start_federation, start_hanging_node

pytestmark = pytest.mark.integration

JOVAN = person("Jovan", "Petrovic", "1985-03-14")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        return response.read().decode()


def promtool_problems(text: str) -> str:
    """What `promtool check metrics` says of an exposition (empty when clean)."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is required (Debian package prometheus; .ci/run installs it)")
    checked = subprocess.run(
        [found, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    return (checked.stdout + checked.stderr).strip() + ("" if checked.returncode == 0 else "!")


async def test_every_service_exports_metrics_promtool_accepts(
    seeded_dir: Path, tmp_path: Path
) -> None:
    federation = await start_federation(
        seeded_dir,
        MEMBER_STATES,
        metrics=True,
        index=IndexSettings("sqlite", sqlite_path=tmp_path / "index.db"),
    )
    try:
        await federation.publish("RS")
        await federation.search(JOVAN)
        await federation.nodes["BG"].stop(0)
        await federation.search(JOVAN)
        with pytest.raises(grpc.aio.AioRpcError):
            await federation.search(person("Jovan", ""))
        endpoints = {"broker": federation.broker.metrics_endpoint.address}  # type: ignore[union-attr]
        endpoints |= {
            c: n.metrics_endpoint.address
            for c, n in federation.nodes.items()  # type: ignore[union-attr]
            if c != "BG"
        }
        texts = {
            name: await asyncio.to_thread(scrape, address) for name, address in endpoints.items()
        }
    finally:
        await federation.close()
    for name, text in texts.items():
        problems = await asyncio.to_thread(promtool_problems, text)
        assert problems == "", f"{name}: {problems}"
    broker = texts["broker"]
    assert 'selec_searches_total{outcome="hit"} 2.0' in broker
    assert 'selec_country_calls_total{country="RS",outcome="hit"} 2.0' in broker
    assert 'selec_country_calls_total{country="BG",outcome="unavailable"} 1.0' in broker
    assert 'selec_country_call_duration_seconds_bucket{country="RS",le=' in broker
    assert 'selec_country_suspended{country="BG"} 0.0' in broker
    assert 'selec_refused_calls_total{reason="invalid_argument"} 1.0' in broker
    assert 'selec_index_publishes_total{country="RS",outcome="ok"} 1.0' in broker
    assert 'selec_index_lookups_total{outcome="ok"}' in broker
    assert 'selec_rpc_duration_seconds_count{code="OK",method="Search",' in broker
    assert 'code="INVALID_ARGUMENT",method="Search"' in broker
    node = texts["RS"]
    assert 'selec_node_matches_total{outcome="hit"} 2.0' in node
    assert 'selec_node_records{kind="person"}' in node
    assert "selec_node_match_duration_seconds_count 2.0" in node
    for text in texts.values():  # bounded labels: no names, no references
        assert "Jovan" not in text and "Petrovi" not in text and "RS-" not in text


async def test_streaming_latency_is_observed_after_the_last_message(seeded_dir: Path) -> None:
    hanging, _ = await start_hanging_node()
    federation = await start_federation(
        seeded_dir,
        ["RS"],
        extra_endpoints={"TR": f"127.0.0.1:{hanging.port}"},
        deadlines={"TR": 0.5},
        metrics=True,
    )
    federation.extra_servers.append(hanging)
    try:
        await federation.search(JOVAN)
        text = await asyncio.to_thread(scrape, federation.broker.metrics_endpoint.address)  # type: ignore[union-attr]
    finally:
        await federation.close()
    line = next(
        t
        for t in text.splitlines()
        if t.startswith("selec_rpc_duration_seconds_sum") and 'method="Search"' in t
    )
    assert float(line.split()[-1]) >= 0.5  # the stream waited for TR's deadline


class FlakyStore:
    """A real SQLite store whose database can be made to fail (a fault on demand)."""

    answers_inline = True

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.broken = False

    def __getattr__(self, name: str) -> object:
        if self.broken:
            raise StoreError("database gone")
        return getattr(self.inner, name)


async def health_of(address: str, service: str) -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=2
        )
    return reply.status


async def wait_for_health(address: str, service: str, wanted: int) -> None:
    for _ in range(100):
        if await health_of(address, service) == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{service} never became {wanted}")


async def test_node_health_follows_its_database(seeded_dir: Path) -> None:
    settings = node_settings("RS", seeded_dir)
    store = FlakyStore(open_store(settings))
    node = await start_node(settings, store=store, health_interval=0.05)  # type: ignore[arg-type]
    try:
        await wait_for_health(node.address, NODE_SERVICE, SERVING)
        store.broken = True
        await wait_for_health(node.address, NODE_SERVICE, NOT_SERVING)
        store.broken = False
        await wait_for_health(node.address, NODE_SERVICE, SERVING)
    finally:
        await node.stop(0)


async def test_broker_health_follows_its_index(seeded_dir: Path) -> None:
    federation = await start_federation(
        seeded_dir,
        ["RS"],
        health_interval=0.05,
        index=IndexSettings("opensearch", opensearch_url="http://127.0.0.1:1"),
    )
    try:
        await wait_for_health(federation.broker.address, BROKER_SERVICE, NOT_SERVING)
        # Live search still works: NOT_SERVING steers balancers, it does not refuse calls.
        _, summary = await federation.search(JOVAN)
        assert summary.results[0].status == broker_pb2.COUNTRY_STATUS_HIT
    finally:
        await federation.close()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("DEBUG")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_request_id_is_carried_to_every_log_line_and_to_the_nodes(
    seeded_dir: Path, log_lines: io.StringIO
) -> None:
    federation = await start_federation(seeded_dir, ["RS", "BG"])
    try:
        request = broker_pb2.SearchRequest(criteria=JOVAN, purpose="t", legal_basis="t")
        call = federation.stub.Search(request, timeout=5, metadata=(("x-request-id", "req-4711"),))
        async for _ in call:
            pass
    finally:
        await federation.close()
    lines = [line for line in log_lines.getvalue().splitlines() if "req-4711" in line]
    assert any("logger=broker.service" in line and " search " in line for line in lines)
    assert sum("logger=connectors.service" in line for line in lines) == 2
    assert all(line.startswith("ts=") and " level=" in line for line in lines)
    text = log_lines.getvalue()
    assert "Jovan" not in text and "Petrovic" not in text and "1985-03-14" not in text


async def test_selec_status_shows_down_and_suspended_nodes(seeded_dir: Path) -> None:
    hanging, _ = await start_hanging_node()
    federation = await start_federation(
        seeded_dir,
        ["RS", "BG"],
        extra_endpoints={"TR": f"127.0.0.1:{hanging.port}"},
        deadlines={"TR": 0.2},
        suspension=SuspensionPolicy(2, 30.0, 60.0),
    )
    federation.extra_servers.append(hanging)
    try:
        await federation.nodes["BG"].stop(0)
        for _ in range(2):
            await federation.search(JOVAN)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "selec.cli.main",
            "status",
            "--json",
            "--broker",
            federation.broker.address,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        table = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "selec.cli.main",
            "status",
            "--broker",
            federation.broker.address,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        shown, _ = await table.communicate()
    finally:
        await federation.close()
    assert process.returncode == 0, err.decode()
    nodes = {n["country"]: n for n in map(json.loads, out.decode().splitlines())}
    assert nodes["RS"]["reachable"] and not nodes["RS"]["suspended"]
    assert nodes["RS"]["recent_calls"] == 2 and nodes["RS"]["p99_seconds"] > 0
    assert not nodes["BG"]["reachable"] and nodes["BG"]["suspended"]
    assert nodes["TR"]["suspended"]  # hanging: timed out twice
    assert nodes["TR"]["consecutive_failures"] == 2
    assert "no answer within" in nodes["TR"]["detail"]
    rows = {line.split()[0]: line for line in shown.decode().splitlines()[1:] if line}
    assert " DOWN " in rows["BG"] and "yes," in rows["BG"]
    assert " up " in rows["RS"]
