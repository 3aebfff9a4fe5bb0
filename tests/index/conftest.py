"""Fixtures of the reference-index suite: every contract test runs on both backends.

The OpenSearch half runs against a real node: ``OPENSEARCH_URL`` when set (CI starts the
node in ``.ci/run``), else one started here with ``scripts/opensearch start`` and stopped
at the end only if this session started it. If no node can be had the tests FAIL with the
script's output: a suite that silently skipped the production backend would prove little.

Each test gets its own index prefix under one per-run prefix (``selec-test-<8 hex>``), and
drops it when done; anything a crashed test left under the run prefix is deleted when the
session ends, so runs never see each other's indices.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException

from broker.index import ReferenceIndex, open_reference_index

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "opensearch"
START_TIMEOUT_SECONDS = 600
ALREADY_RUNNING = "already answers"


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """URL of a healthy OpenSearch node for this session."""
    configured = os.environ.get("OPENSEARCH_URL")
    if configured:
        yield configured
        return
    try:
        started = subprocess.run(
            [str(SCRIPT), "start"],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not run {SCRIPT} start: {exc}", pytrace=False)
    if started.returncode != 0 or not started.stdout.strip():
        pytest.fail(
            "OpenSearch is needed by tests/index and could not be started "
            f"(exit {started.returncode}):\n{started.stdout}\n{started.stderr}",
            pytrace=False,
        )
    url = started.stdout.strip().splitlines()[-1]
    ours = ALREADY_RUNNING not in started.stderr
    try:
        yield url
    finally:
        if ours:
            subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def opensearch_prefixes(opensearch_url: str) -> Iterator[Callable[[], str]]:
    """Hands out a fresh index prefix per test; deletes the whole run's leftovers at the end."""
    run = f"selec-test-{uuid.uuid4().hex[:8]}"
    counter = itertools.count(1)
    yield lambda: f"{run}-{next(counter):04d}"
    client = OpenSearch([opensearch_url], timeout=30)
    try:
        client.indices.delete(index=f"{run}-*", expand_wildcards="all")
        client.indices.delete_index_template(name=f"{run}-*")
    except OpenSearchException:
        pass  # nothing left over (or the node is gone): the leftovers are not the suite's result
    finally:
        client.close()


def _open(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> ReferenceIndex:
    if backend == "sqlite":
        return open_reference_index("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    new_prefix: Callable[[], str] = request.getfixturevalue("opensearch_prefixes")
    url: str = request.getfixturevalue("opensearch_url")
    return open_reference_index("opensearch", opensearch_url=url, prefix=new_prefix())


@pytest.fixture(params=["sqlite", "opensearch"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReferenceIndex]:
    """A prepared, empty reference index of each backend in turn, dropped afterwards."""
    opened = _open(request.param, request, tmp_path)
    opened.prepare()
    try:
        yield opened
    finally:
        opened.drop()
        opened.close()


@pytest.fixture
def both(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ReferenceIndex, ReferenceIndex]]:
    """One index of each backend at once, to check they give identical answers."""
    opened = (_open("sqlite", request, tmp_path), _open("opensearch", request, tmp_path))
    for each in opened:
        each.prepare()
    try:
        yield opened
    finally:
        for each in opened:
            each.drop()
            each.close()
