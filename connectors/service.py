"""The ConnectorService a member state serves: hit / no-hit on blind keys.

The node compares digests only. It never sees the criteria in the clear, and answers with
opaque references, categories and the types of the keys that matched.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import grpc

from connectors.metrics import NodeMetrics
from connectors.records import CATEGORIES, KINDS
from connectors.store import KeyMatch, RecordStore, StoreError
from selec.v1 import common_pb2, connector_pb2, connector_pb2_grpc

log = logging.getLogger(__name__)

MAX_KEYS_PER_MATCH = 512
_DIGEST = re.compile(r"[0-9a-f]{32}")
_SEX_LETTER = {common_pb2.SEX_MALE: "M", common_pb2.SEX_FEMALE: "F"}
_OPPOSITE = {"M": "F", "F": "M"}


def hits_from_matches(matches: list[KeyMatch], searched_sex: str) -> list[common_pb2.Hit]:
    """Group key matches by record: strongest key first, records strongest first.

    A person recorded with the opposite sex of the one searched is dropped; an unknown sex
    on either side never excludes.
    """
    excluded = _OPPOSITE.get(searched_sex, "")
    by_reference: dict[str, list[KeyMatch]] = {}
    for match in matches:
        if excluded and match.kind == "person" and match.sex == excluded:
            continue
        by_reference.setdefault(match.reference, []).append(match)
    hits = []
    for reference, found in by_reference.items():
        found.sort(key=lambda m: (-m.strength, m.key_type))
        types = list(dict.fromkeys(m.key_type for m in found))
        hits.append(
            common_pb2.Hit(
                reference=reference,
                kind=KINDS[found[0].kind],
                category=CATEGORIES[found[0].category],
                strength=found[0].strength,
                matched_key_types=types,
            )
        )
    hits.sort(key=lambda h: (-h.strength, h.reference))
    return hits


class ConnectorServicer(connector_pb2_grpc.ConnectorServiceServicer):
    """Answers Match and Describe from a RecordStore."""

    def __init__(
        self, country: str, scheme_version: str, store: RecordStore, metrics: NodeMetrics
    ) -> None:
        self.country = country
        self.scheme_version = scheme_version
        self.store = store
        self.metrics = metrics

    async def Match(
        self, request: connector_pb2.MatchRequest, context: grpc.aio.ServicerContext
    ) -> connector_pb2.MatchResponse:
        """Look the digests up; FAILED_PRECONDITION when the key schemes differ."""
        if request.scheme_version != self.scheme_version:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"key scheme {request.scheme_version!r} not served here; "
                f"this node uses {self.scheme_version!r}",
            )
        if not request.keys:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "keys: at least one required")
        if len(request.keys) > MAX_KEYS_PER_MATCH:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"keys: at most {MAX_KEYS_PER_MATCH} per call, got {len(request.keys)}",
            )
        digests = []
        for index, key in enumerate(request.keys):
            if not _DIGEST.fullmatch(key.digest):
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"keys[{index}].digest: expected 32 lowercase hex digits",
                )
            digests.append(key.digest)
        started = time.perf_counter()
        try:
            if getattr(self.store, "answers_inline", False):
                matches = self.store.match(digests)
            else:
                matches = await asyncio.to_thread(self.store.match, digests)
        except StoreError as exc:
            self.metrics.matches.labels("error").inc()
            log.error("match failed search_id=%s: %s", request.search_id[:64], exc)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "node database unavailable")
        self.metrics.match_seconds.observe(time.perf_counter() - started)
        hits = hits_from_matches(matches, _SEX_LETTER.get(request.sex, ""))
        self.metrics.matches.labels("hit" if hits else "no_hit").inc()
        log.debug("match keys=%d hits=%d", len(digests), len(hits))
        return connector_pb2.MatchResponse(country=self.country, hits=hits)

    async def Describe(
        self, request: connector_pb2.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> connector_pb2.DescribeResponse:
        """Country, scheme and record counts, for operators and the broker's checks."""
        try:
            counts = await asyncio.to_thread(self.store.counts)
        except StoreError:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "node database unavailable")
        return connector_pb2.DescribeResponse(
            country=self.country, scheme_version=self.scheme_version, record_counts=counts
        )
