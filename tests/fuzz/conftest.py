"""Hypothesis profiles of the fuzz tests, and the federations they run against.

The `ci` profile (the default) keeps the whole directory well under a minute on two cores:
a few examples per target, derandomized so a failure reproduces. `benchmarks/fuzz.py`
runs the same properties with thousands of examples; SELEC_FUZZ_PROFILE=deep runs more
here too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import Running, start

SLOW_IS_FINE = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
]
settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=SLOW_IS_FINE,
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=200,
    deadline=None,
    suppress_health_check=SLOW_IS_FINE,
    print_blob=True,
)
settings.load_profile(os.environ.get("SELEC_FUZZ_PROFILE", "ci"))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Both federations (plain and secure), started once per module."""
    federations = start(tmp_path_factory.mktemp("fuzz"))
    yield federations
    federations.close()
