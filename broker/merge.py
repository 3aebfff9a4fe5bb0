"""Merging live answers with the reference index, and correlating subjects across countries.

Pure functions over outcomes: the service decides what to ask, this module decides what
the officer is told. The rules:

- A live answer (HIT or NO_HIT) always wins over the index for its country.
- A country that is index-only, or did not answer live (UNAVAILABLE, TIMEOUT) but has
  published, is answered from the index with INDEXED_HIT / INDEXED_NO_HIT and the
  publication's "as of" time: never silently a live answer.
- Hits in different countries that matched the same strong key are one subject.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from broker.index import IndexMatch, Publication
from broker.nodes import INDEXED_HIT, INDEXED_NO_HIT, CountryOutcome
from connectors.records import CATEGORIES, KINDS
from selec.v1 import broker_pb2, common_pb2

CORRELATION_MIN_STRENGTH = common_pb2.MATCH_STRENGTH_STRONG


def hit_from_index(match: IndexMatch) -> common_pb2.Hit:
    """The Hit an index match stands for."""
    return common_pb2.Hit(
        reference=match.reference,
        kind=KINDS.get(match.kind, common_pb2.RECORD_KIND_UNSPECIFIED),  # type: ignore[arg-type]
        category=CATEGORIES.get(match.category, common_pb2.CATEGORY_UNSPECIFIED),  # type: ignore[arg-type]
        strength=match.strength,  # type: ignore[arg-type]
        matched_key_types=list(match.matched_key_types),
    )


def indexed_outcome(
    country: str,
    matches: Sequence[IndexMatch],
    publication: Publication,
    latency_seconds: float,
    reason: str,
) -> CountryOutcome:
    """A country answered from its last publication, flagged as such."""
    hits = [hit_from_index(m) for m in matches]
    as_of = publication.as_of.isoformat(timespec="seconds")
    return CountryOutcome(
        country,
        INDEXED_HIT if hits else INDEXED_NO_HIT,
        latency_seconds,
        hits,
        detail=f"{reason}; answered from the index as of {as_of}",
        indexed_as_of=publication.as_of,
    )


def correlate(
    outcomes: Iterable[CountryOutcome], key_strengths: Mapping[str, int]
) -> list[broker_pb2.CorrelatedSubject]:
    """Group hits of different countries that matched a common strong key.

    key_strengths maps each key type of the search to its strength; a hit's strong keys
    are its matched types at STRONG or above. Groups spanning a single country are not
    subjects of correlation and are left out.
    """
    members: list[tuple[str, str, frozenset[str]]] = []
    for outcome in outcomes:
        for hit in outcome.hits:
            strong = frozenset(
                t
                for t in hit.matched_key_types
                if key_strengths.get(t, 0) >= CORRELATION_MIN_STRENGTH
            )
            if strong:
                members.append((outcome.country, hit.reference, strong))
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with_key: dict[str, int] = {}
    for index, (_, _, strong) in enumerate(members):
        for key_type in strong:
            other = first_with_key.setdefault(key_type, index)
            parent[root(index)] = root(other)
    groups: dict[int, list[int]] = {}
    for index in range(len(members)):
        groups.setdefault(root(index), []).append(index)
    subjects = []
    for indexes in groups.values():
        if len({members[i][0] for i in indexes}) < 2:
            continue
        shared = frozenset.intersection(*(members[i][2] for i in indexes)) or frozenset.union(
            *(members[i][2] for i in indexes)
        )
        pairs = [(members[i][0], members[i][1]) for i in indexes]
        digest = hashlib.sha256("|".join(sorted(f"{c}:{r}" for c, r in pairs)).encode())
        subjects.append(
            broker_pb2.CorrelatedSubject(
                subject_id=digest.hexdigest()[:16],
                members=[broker_pb2.SubjectMember(country=c, reference=r) for c, r in pairs],
                strength=max(key_strengths[t] for t in shared),  # type: ignore[arg-type]
                shared_key_types=sorted(shared, key=lambda t: (-key_strengths[t], t)),
            )
        )
    return subjects
