"""Fast draws from a seeded `random.Random`.

`Random.choice` and `Random.choices` dominate the generator's profile; scaling one
`random()` call is about three times cheaper and just as deterministic. The bias of
`int(random() * n)` (below 2**-50 for our list sizes) is irrelevant for synthetic data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def one(rng: random.Random, items: Sequence[T]) -> T:
    """One item of `items`, uniformly."""
    return items[int(rng.random() * len(items))]


def weighted(rng: random.Random, table: tuple[tuple[T, ...], tuple[float, ...]]) -> T:
    """One value of `table` = (values, cumulative weights ending at 1.0)."""
    roll = rng.random()
    values, cumulative = table
    for value, bound in zip(values, cumulative, strict=True):
        if roll < bound:
            return value
    return values[-1]
