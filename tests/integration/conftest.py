"""Integration fixtures: the real OpenSearch node of tests/index, for both-backend tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from broker.config import IndexSettings
from tests.index.conftest import opensearch_prefixes, opensearch_url  # noqa: F401


@pytest.fixture(params=["sqlite", "opensearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> IndexSettings:
    """Index settings of each backend in turn (the OpenSearch half on the real node)."""
    if request.param == "sqlite":
        return IndexSettings("sqlite", sqlite_path=tmp_path / "index" / "refs.db")
    new_prefix: Callable[[], str] = request.getfixturevalue("opensearch_prefixes")
    url: str = request.getfixturevalue("opensearch_url")
    return IndexSettings("opensearch", opensearch_url=url, prefix=new_prefix())
