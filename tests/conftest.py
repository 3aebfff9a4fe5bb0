"""Shared fixtures: seeded node databases (once per session) and running federations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from selec.countries import MEMBER_STATES
from tests.federation import Federation, node_settings, seed_node, start_federation

PERSONS_PER_NODE = 60


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Node databases for all 11 member states with a little synthetic data each."""
    data_dir = tmp_path_factory.mktemp("nodes")
    for country in MEMBER_STATES:
        seed_node(node_settings(country, data_dir), PERSONS_PER_NODE)
    return data_dir


@pytest.fixture
async def federation(seeded_dir: Path) -> AsyncIterator[Federation]:
    """All 11 nodes and a broker, on loopback ports."""
    running = await start_federation(seeded_dir, MEMBER_STATES)
    yield running
    await running.close()
