"""The ConnectorService a member state serves: hit / no-hit on blind keys.

The node compares digests only. It never sees the criteria in the clear, and answers with
opaque references, categories and the types of the keys that matched.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import re
import time
from collections.abc import Sequence
from itertools import accumulate, chain

import grpc

from connectors.metrics import NodeMetrics
from connectors.records import CATEGORIES, KINDS
from connectors.release import Releaser, ReleaseRefused, ReleaseUnavailable
from connectors.store import DIGEST_BYTES, KeyMatch, RecordStore, StoreError
from selec.tls import peer_common_name
from selec.v1 import common_pb2, connector_pb2, connector_pb2_grpc

log = logging.getLogger(__name__)

MAX_KEYS_PER_MATCH = 512
# MatchBatch limits (docs/screening.md). 50,000 keys of ~55 bytes each keep a request well
# under the 4 MiB message limit of every server; 1,000 sets is twice the broker's default
# batch. A set has the same key limit as a Match call.
MAX_SETS_PER_BATCH = 1000
MAX_KEYS_PER_BATCH = 50_000
MAX_SET_ID = 64
# An answer larger than this is refused (RESOURCE_EXHAUSTED) rather than cut, so the caller
# sees the batch failed instead of losing hits; it stays under the 4 MiB receive limit.
MAX_BATCH_ANSWER_BYTES = 3_500_000
_DIGEST = re.compile(r"[0-9a-f]{32}")
_HEX_DIGITS = b"0123456789abcdef"
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


def _batch_problem(request: connector_pb2.MatchBatchRequest) -> str | None:
    """What is wrong with a MatchBatch request's shape (field named), or None."""
    sets = request.sets
    if not sets:
        return "sets: at least one required"
    if len(sets) > MAX_SETS_PER_BATCH:
        return f"sets: at most {MAX_SETS_PER_BATCH} per call, got {len(sets)}"
    total = 0
    ids: set[str] = set()
    for index, key_set in enumerate(sets):
        packed = len(key_set.digests)
        if packed % DIGEST_BYTES:
            return (
                f"sets[{index}].digests: expected a multiple of {DIGEST_BYTES} bytes, got {packed}"
            )
        count = len(key_set.keys)
        if count and packed:
            return f"sets[{index}]: keys or digests, not both"
        count = count or packed // DIGEST_BYTES
        if not count:
            return f"sets[{index}].keys: at least one required (keys or digests)"
        if count > MAX_KEYS_PER_MATCH:
            return f"sets[{index}].keys: at most {MAX_KEYS_PER_MATCH} per set, got {count}"
        total += count
        if len(key_set.id) > MAX_SET_ID:
            return f"sets[{index}].id: longer than {MAX_SET_ID} characters"
        if key_set.id in ids:
            return f"sets[{index}].id: {key_set.id[:MAX_SET_ID]!r} repeats an earlier set's id"
        ids.add(key_set.id)
    if total > MAX_KEYS_PER_BATCH:
        return f"sets: at most {MAX_KEYS_PER_BATCH} keys per call in all, got {total}"
    return None


def _digest_problem(per_set: Sequence[Sequence[str]]) -> str | None:
    """The first malformed digest, named by its field, or None.

    A batch carries tens of thousands of digests, so the common case (all well formed) is
    checked in bulk: every one 32 characters, and their concatenation lowercase hex, which
    `bytes.translate` checks at C speed (a regular expression per digest, or over the whole
    string, takes about twice as long). Only a bad batch is walked digest by digest.
    """
    flat = list(chain.from_iterable(per_set))
    if set(map(len, flat)) <= {32}:
        try:
            joined = "".join(flat).encode("ascii")
        except UnicodeEncodeError:
            joined = b"-"
        if not joined.translate(None, _HEX_DIGITS):
            return None
    for index, digests in enumerate(per_set):
        for position, digest in enumerate(digests):
            if not _DIGEST.fullmatch(digest):
                return f"sets[{index}].keys[{position}].digest: expected 32 lowercase hex digits"
    return None


def _packed_sets(request: connector_pb2.MatchBatchRequest) -> tuple[bytes, list[int]]:
    """Every set's digests, concatenated, and where each set ends (in digests).

    Sets in the compact form (`digests`) are taken as they are; sets in the key form (an
    older broker) have had their hex digests checked by `_digest_problem` already.
    """
    parts = [
        key_set.digests or bytes.fromhex("".join(key.digest for key in key_set.keys))
        for key_set in request.sets
    ]
    ends = list(accumulate(len(part) // DIGEST_BYTES for part in parts))
    return b"".join(parts), ends


def _group_batch(
    store: RecordStore, packed: bytes, ends: list[int], sexes: list[str]
) -> dict[int, list[common_pb2.Hit]]:
    """Look every digest of a batch up at once; each set's hits, by set position.

    One store call for the whole batch when the store has `match_packed` (the SQL store
    does), which answers with the position of each matched digest; the set of a position
    is found by bisection of the sets' ends. A store without it is asked once per set,
    which is correct but slower.
    """
    found: dict[int, list[KeyMatch]] = {}
    batch_lookup = getattr(store, "match_packed", None)
    if batch_lookup is None:
        start = 0
        for index, end in enumerate(ends):
            digests = [
                packed[at : at + DIGEST_BYTES].hex()
                for at in range(start * DIGEST_BYTES, end * DIGEST_BYTES, DIGEST_BYTES)
            ]
            start = end
            matches = store.match(digests)
            if matches:
                found[index] = matches
    else:
        for position, match in batch_lookup(packed):
            found.setdefault(bisect.bisect_right(ends, position), []).append(match)
    hits: dict[int, list[common_pb2.Hit]] = {}
    for index, matches in found.items():
        grouped = hits_from_matches(matches, sexes[index])
        if grouped:
            hits[index] = grouped
    return hits


class ConnectorServicer(connector_pb2_grpc.ConnectorServiceServicer):
    """Answers Match, MatchBatch and Describe from a RecordStore."""

    def __init__(
        self,
        country: str,
        scheme_version: str,
        store: RecordStore,
        metrics: NodeMetrics,
        releaser: Releaser | None = None,
    ) -> None:
        self.country = country
        self.scheme_version = scheme_version
        self.store = store
        self.metrics = metrics
        self.releaser = releaser

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
        digests = [key.digest for key in request.keys]
        problem = _digest_problem([digests])
        if problem is not None:  # named as a batch's sets[0]; a Match has no sets
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem.removeprefix("sets[0]."))
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

    async def Release(
        self, request: connector_pb2.ReleaseRequest, context: grpc.aio.ServicerContext
    ) -> connector_pb2.ReleaseResponse:
        """Release one record for a genuine, unexpired, unused grant; log it at home.

        PERMISSION_DENIED (or NOT_FOUND) only for a grant that cannot be used; a failing
        database is UNAVAILABLE, with nothing consumed: the officer should try again.
        """
        if self.releaser is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this node releases nothing: no broker_public_key_file configured",
            )
        assert self.releaser is not None
        try:
            released = await asyncio.to_thread(
                self.releaser.release,
                request,
                peer_common_name(context),
                context.time_remaining(),  # bounds the wait for a busy database
            )
        except ReleaseUnavailable as exc:
            log.error("release failed: %s", exc.detail)
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except ReleaseRefused as exc:
            code = grpc.StatusCode.NOT_FOUND if exc.not_found else grpc.StatusCode.PERMISSION_DENIED
            log.warning("release refused: %s", exc)
            await context.abort(code, f"release refused: {exc}")
        grant = released.grant
        log.info(
            "released request_id=%s reference=%s requester_country=%s handling=%s serve=%d",
            grant.request_id,
            grant.reference,
            grant.requester_country,
            grant.handling_code,
            released.serve,  # 2 and more: the same grant again, its answer was lost
        )
        return connector_pb2.ReleaseResponse(
            reference=grant.reference,
            kind=KINDS[released.kind],  # type: ignore[arg-type]
            category=CATEGORIES[released.category],  # type: ignore[arg-type]
            fields=released.fields,
            handling_code=grant.handling_code,
            handling_note=grant.handling_note,
        )

    async def MatchBatch(
        self, request: connector_pb2.MatchBatchRequest, context: grpc.aio.ServicerContext
    ) -> connector_pb2.MatchBatchResponse:
        """Look many subjects' keys up in one call (batch screening); only sets that hit.

        FAILED_PRECONDITION when the key schemes differ; INVALID_ARGUMENT past the limits
        (MAX_SETS_PER_BATCH sets, MAX_KEYS_PER_MATCH keys per set, MAX_KEYS_PER_BATCH keys
        in all) or for a malformed digest; RESOURCE_EXHAUSTED when the answer would not fit
        a message. The look-up runs in a worker thread even for an inline store: a batch
        takes tens of milliseconds, and single Match calls must not wait behind it.
        """
        if request.scheme_version != self.scheme_version:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"key scheme {request.scheme_version!r} not served here; "
                f"this node uses {self.scheme_version!r}",
            )
        problem = _batch_problem(request)
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        sets = request.sets
        if any(key_set.keys for key_set in sets):
            problem = _digest_problem([[key.digest for key in key_set.keys] for key_set in sets])
            if problem is not None:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        packed, ends = _packed_sets(request)
        sexes = [_SEX_LETTER.get(key_set.sex, "") for key_set in sets]
        started = time.perf_counter()
        try:
            hits = await asyncio.to_thread(_group_batch, self.store, packed, ends, sexes)
        except StoreError as exc:
            self.metrics.matches.labels("error").inc()
            log.error("match batch failed search_id=%s: %s", request.search_id[:64], exc)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "node database unavailable")
        response = connector_pb2.MatchBatchResponse(
            country=self.country,
            results=[
                connector_pb2.KeySetHits(id=sets[index].id, hits=found)
                for index, found in sorted(hits.items())
            ],
        )
        size = response.ByteSize()
        if size > MAX_BATCH_ANSWER_BYTES:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"answer of {size} bytes exceeds {MAX_BATCH_ANSWER_BYTES}; send fewer sets",
            )
        log.debug(
            "match batch sets=%d keys=%d sets_with_hits=%d seconds=%.3f",
            len(sets),
            ends[-1],
            len(hits),
            time.perf_counter() - started,
        )
        return response

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
