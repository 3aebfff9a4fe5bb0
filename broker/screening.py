"""Batch screening: a stream of subjects in, one result per subject out, in input order.

A national system (a passenger manifest, a border list) opens one `Screen` stream: a header
(purpose, legal basis, countries), then subjects. Each subject's criteria become blind keys
once, here; subjects are grouped into batches, and each batch goes to every asked country's
node in one `MatchBatch` call, all countries in parallel. A subject's result is sent once
every country answered (or failed) its batch, and the stream ends with a summary that gives
each country a status for the whole screening.

Why it is built this way:

- **Bounded memory, whatever the length of the list.** At most `batches_in_flight` batches
  exist at once (being asked, or waiting for their results to be sent), plus the one being
  filled and a small inbox of unread messages. The request stream is read only while there
  is room, so a sender faster than the federation is slowed by gRPC flow control instead of
  being buffered; a reader slower than the federation slows it the same way.
- **A bad subject fails alone.** Criteria that cannot be searched give that subject an
  `error`; the others are screened. Only a stream that breaks the protocol (no header
  first, a second header, more than `max_subjects`) is refused as a whole.
- **Never a false NO_HIT.** A country is NO_HIT in the summary only if it answered every
  batch it was asked; HIT if any subject hit there (its detail then counts the batches it
  did not answer); otherwise the worst failure (ERROR, then TIMEOUT, then UNAVAILABLE).
  Subject results carry hits only, so a subject without hits is clear only in the countries
  whose summary status is NO_HIT.
- **A short linger.** A batch is sent when it is full or when it has waited for the stream
  `linger_seconds` in all (time spent keying does not count: a broker busy keying a fast
  stream would otherwise cut its batches short), so a caller that sends one subject and waits for
  its result is answered at once instead of waiting for a batch to fill.
- **One serialization per batch.** The batch's MatchBatchRequest is serialized once and the
  same bytes go to every country, instead of once per country.

Subjects come one per message or up to `MAX_SUBJECTS_PER_MESSAGE` in a `ScreenSubjects`
(fewer, larger messages: a gRPC message costs more than keying a document); with the
header's `grouped_results`, results go back several per event (`_grouped`).

Limits (docs/screening.md): at most `MAX_SUBJECTS` subjects per stream; a batch holds at
most `batch_subjects` subjects (default 500; a caller may ask for 1 to
`connectors.service.MAX_SETS_PER_BATCH` with the `selec-screen-batch` metadata) and at most
`connectors.service.MAX_KEYS_PER_BATCH` keys; `subject_id` at most `MAX_SUBJECT_ID`
characters. A country's node is called with its own deadline per batch, retried on
UNAVAILABLE and suspended after repeated failures exactly as for a search
(`broker.nodes.NodeClient.match_batch`). Index-only countries are reported UNAVAILABLE:
screening asks nodes live, not the reference index.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

import grpc

from broker.criteria import (
    DEFAULT_LIMITS,
    CriteriaLimits,
    InvalidCriteria,
    SearchDigests,
    search_digests,
)
from broker.metrics import BrokerMetrics
from broker.nodes import ERROR, HIT, NO_HIT, TIMEOUT, UNAVAILABLE, CountryOutcome, NodeClient
from connectors.keys import KeyScheme
from connectors.service import MAX_KEYS_PER_BATCH, MAX_KEYS_PER_MATCH, MAX_SETS_PER_BATCH
from selec.v1 import broker_pb2, connector_pb2

log = logging.getLogger(__name__)

DEFAULT_BATCH_SUBJECTS = 500
BATCHES_IN_FLIGHT = 3
LINGER_SECONDS = 0.05
MAX_SUBJECTS = 2_000_000
MAX_SUBJECT_ID = 128
MAX_TEXT = 200
MAX_COUNTRIES = 64
BATCH_METADATA = "selec-screen-batch"
# Unread request messages the broker holds; beyond this, flow control holds the sender.
INBOX_MESSAGES = 256
# Subjects in one ScreenSubjects message; a longer one refuses the stream.
MAX_SUBJECTS_PER_MESSAGE = 1000
# A grouped results event holds at most this many results and about this many bytes, well
# under the 4 MiB a client receives by default.
MAX_RESULTS_PER_EVENT = 1000
MAX_RESULTS_EVENT_BYTES = 1_000_000
# Subjects keyed between two turns of the event loop: keying costs a fraction of a
# millisecond per subject, and other calls on this broker must not wait for a whole batch.
KEYED_PER_TURN = 8
_FAILURE_RANK = {UNAVAILABLE: 1, TIMEOUT: 2, ERROR: 3}
_END = object()


@dataclass(frozen=True, slots=True)
class _Refused:
    """Put in the inbox where the stream broke the protocol, so the subjects before it are
    screened first."""

    problem: str
    over_limit: bool = False


class ScreeningRejected(ValueError):
    """The stream cannot be screened; the message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class ScreeningOverLimit(ScreeningRejected):
    """The stream went past a configured size limit (subjects per screening or per message).

    RESOURCE_EXHAUSTED, like gRPC's own answer to an oversized message, so every limit of
    the broker answers with one code; without `retry-after`, since waiting will not help:
    the message says to split the list.
    """

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


@dataclass(frozen=True, slots=True)
class ScreeningLimits:
    """How a screening batches and how much it holds; the defaults are the product's."""

    batch_subjects: int = DEFAULT_BATCH_SUBJECTS
    batch_keys: int = MAX_KEYS_PER_BATCH
    batches_in_flight: int = BATCHES_IN_FLIGHT
    linger_seconds: float = LINGER_SECONDS
    max_subjects: int = MAX_SUBJECTS
    criteria: CriteriaLimits = DEFAULT_LIMITS


@dataclass(slots=True)
class _Subject:
    """One subject as read: its id, and why it cannot be screened (empty when its keys
    went into the batch's request)."""

    subject_id: str
    error: str = ""


@dataclass(slots=True)
class _Batch:
    """Subjects in input order; the keyed ones are in `request`, under their position."""

    subjects: list[_Subject] = field(default_factory=list)
    request: connector_pb2.MatchBatchRequest = field(
        default_factory=connector_pb2.MatchBatchRequest
    )
    keys: int = 0


@dataclass(slots=True)
class _Tally:
    """One country over the whole screening."""

    asked: int = 0
    failed: int = 0
    hits: int = 0
    slowest: float = 0.0
    failure: CountryOutcome | None = None

    def add(self, outcome: CountryOutcome, hits: int) -> None:
        """Count one batch's outcome."""
        self.asked += 1
        self.hits += hits
        self.slowest = max(self.slowest, outcome.latency_seconds)
        if outcome.status in (HIT, NO_HIT):
            return
        self.failed += 1
        if self.failure is None or _FAILURE_RANK.get(outcome.status, 3) > _FAILURE_RANK.get(
            self.failure.status, 3
        ):
            self.failure = outcome

    def result(self, country: str) -> broker_pb2.CountryResult:
        """The country's line in the summary; never NO_HIT unless every batch was answered."""
        unanswered = ""
        if self.failed:
            assert self.failure is not None
            unanswered = (
                f"{self.failed} of {self.asked} batches unanswered: "
                f"{broker_pb2.CountryStatus.Name(self.failure.status)[15:]} "
                f"({self.failure.detail})"
            )
        if self.hits:
            status, detail = HIT, unanswered
        elif not self.failed:
            status = NO_HIT
            detail = "" if self.asked else "nothing to ask: no subject had searchable criteria"
        else:
            assert self.failure is not None
            status, detail = self.failure.status, unanswered
        return broker_pb2.CountryResult(
            country=country,
            status=status,  # type: ignore[arg-type]
            latency_seconds=self.slowest,
            hit_count=self.hits,
            detail=detail[:400],
        )


@dataclass(slots=True)
class _Counts:
    """Subjects over the whole screening."""

    subjects: int = 0
    with_hits: int = 0
    with_errors: int = 0


def _required_text(value: str, field_name: str) -> str:
    """The same rules as a search's purpose and legal basis."""
    value = value.strip()
    if not value:
        raise ScreeningRejected(f"{field_name}: required")
    if len(value) > MAX_TEXT:
        raise ScreeningRejected(f"{field_name}: longer than {MAX_TEXT} characters")
    if any(ch < " " for ch in value):
        raise ScreeningRejected(f"{field_name}: contains control characters")
    return value


def _countries(asked: Sequence[str], configured: Sequence[str]) -> list[str]:
    """The countries to ask, in the caller's order; every member state when none named."""
    if not asked:
        return list(configured)
    if len(asked) > MAX_COUNTRIES:
        raise ScreeningRejected(f"header.countries: at most {MAX_COUNTRIES}")
    chosen = list(dict.fromkeys(code.strip().upper() for code in asked))
    unknown = [code for code in chosen if code not in configured]
    if unknown:
        listed = ", ".join(repr(code[:8]) for code in unknown[:5])
        raise ScreeningRejected(
            f"header.countries: not in this federation: {listed} "
            f"(expected some of {', '.join(configured)})"
        )
    return chosen


def _header(first: broker_pb2.ScreenRequest | None) -> broker_pb2.ScreenHeader:
    if first is None or not first.HasField("header"):
        raise ScreeningRejected("header: the first message must be a header")
    header = first.header
    _required_text(header.purpose, "header.purpose")
    _required_text(header.legal_basis, "header.legal_basis")
    return header


def _batch_size(context: grpc.aio.ServicerContext, default: int) -> int:
    """The caller's batch size from the `selec-screen-batch` metadata, else the default."""
    for key, value in context.invocation_metadata() or ():
        if key == BATCH_METADATA:
            text = value if isinstance(value, str) else value.decode(errors="replace")
            if not text.isdigit() or not 1 <= int(text) <= MAX_SETS_PER_BATCH:
                raise ScreeningRejected(
                    f"metadata {BATCH_METADATA}: expected 1 to {MAX_SETS_PER_BATCH}, "
                    f"got {text[:16]!r}"
                )
            return int(text)
    return default


class _Screening:
    """One Screen call: reads, keys and batches subjects; asks; emits results in order."""

    def __init__(
        self,
        scheme: KeyScheme,
        clients: Mapping[str, NodeClient],
        countries: list[str],
        *,
        limits: ScreeningLimits,
        context: grpc.aio.ServicerContext,
        margin: float,
        index_only: frozenset[str],
        grouped: bool = False,
    ) -> None:
        self.grouped = grouped
        self.scheme = scheme
        self.clients = clients
        self.countries = countries
        self.limits = limits
        self.context = context
        self.margin = margin
        self.index_only = index_only
        self.screening_id = uuid.uuid4().hex
        self.tallies = {country: _Tally() for country in countries}
        self.counts = _Counts()
        self.batches_done = 0
        self.problem: str | None = None
        self.problem_code = grpc.StatusCode.INVALID_ARGUMENT

    # ---------------------------------------------------------------- reading and batching

    async def read(
        self, requests: AsyncIterator[broker_pb2.ScreenRequest], inbox: asyncio.Queue[object]
    ) -> None:
        """Move request messages into the bounded inbox; waits (and so stops reading) when
        it is full. Ends the inbox with `_END` when the stream ends or breaks (not when
        cancelled: then nobody reads the inbox any more)."""
        try:
            async for message in requests:
                if message.WhichOneof("item") != "subjects":
                    await inbox.put(message)
                    continue
                subjects = message.subjects.subjects
                if len(subjects) > MAX_SUBJECTS_PER_MESSAGE:
                    await inbox.put(
                        _Refused(
                            f"subjects: at most {MAX_SUBJECTS_PER_MESSAGE} per message, "
                            f"got {len(subjects)}",
                            over_limit=True,
                        )
                    )
                    break
                for subject in subjects:
                    await inbox.put(subject)
        except asyncio.CancelledError:
            raise
        except BaseException:
            await inbox.put(_END)
            raise
        await inbox.put(_END)

    def subject(
        self, message: broker_pb2.ScreenRequest | broker_pb2.ScreenSubject, batch: _Batch
    ) -> None:
        """Key one subject (alone in its message, or one of a ScreenSubjects) into the
        batch, or record why it cannot be screened."""
        if isinstance(message, broker_pb2.ScreenSubject):
            subject = message
        elif message.HasField("subject"):
            subject = message.subject
        elif message.HasField("header"):
            raise ScreeningRejected("header: only the first message may be a header")
        else:
            batch.subjects.append(_Subject("", "subject: required"))
            return
        subject_id = subject.subject_id
        if len(subject_id) > MAX_SUBJECT_ID:
            batch.subjects.append(
                _Subject(subject_id[:MAX_SUBJECT_ID], f"subject_id: longer than {MAX_SUBJECT_ID}")
            )
            return
        try:
            keys: SearchDigests = search_digests(
                subject.criteria, self.scheme, self.limits.criteria
            )
        except InvalidCriteria as exc:
            batch.subjects.append(_Subject(subject_id, str(exc)))
            return
        position = len(batch.subjects)
        batch.subjects.append(_Subject(subject_id))
        batch.request.sets.add(
            id=str(position),
            sex=keys.sex,  # type: ignore[arg-type]
            digests=keys.digests,
        )
        batch.keys += keys.count

    async def batches(self, inbox: asyncio.Queue[object], size: int) -> AsyncIterator[_Batch]:
        """Batches of at most `size` subjects and `batch_keys` keys, each sent when full or
        when it has waited `linger_seconds` in all for the stream to bring the next one."""
        loop = asyncio.get_running_loop()
        limits = self.limits
        # A subject has at most MAX_KEYS_PER_MATCH keys; a batch stops taking subjects when
        # one more could carry it past the key limit.
        room_for_one = MAX_KEYS_PER_MATCH
        while True:
            item = await inbox.get()
            if item is _END:
                return
            batch = _Batch()
            waited = 0.0
            keyed = 0
            while True:
                try:
                    self.take(item, batch)
                except ScreeningRejected as exc:
                    self.problem = str(exc)
                    self.problem_code = exc.code
                    if batch.subjects:
                        yield batch
                    return
                keyed += 1
                if len(batch.subjects) >= size or batch.keys + room_for_one > limits.batch_keys:
                    break
                if keyed % KEYED_PER_TURN == 0:
                    await asyncio.sleep(0)
                try:
                    item = inbox.get_nowait()
                except asyncio.QueueEmpty:
                    left = limits.linger_seconds - waited
                    if left <= 0:
                        break
                    since = loop.time()
                    try:
                        item = await asyncio.wait_for(inbox.get(), left)
                    except TimeoutError:
                        break
                    finally:
                        waited += loop.time() - since
                if item is _END:
                    yield batch
                    return
            yield batch

    def take(self, item: object, batch: _Batch) -> None:
        """Check the stream's limit, key the subject into the batch and count it."""
        if self.counts.subjects >= self.limits.max_subjects:
            raise ScreeningOverLimit(
                f"subjects: at most {self.limits.max_subjects} per screening; split the list"
            )
        if isinstance(item, _Refused):
            raise (ScreeningOverLimit if item.over_limit else ScreeningRejected)(item.problem)
        assert isinstance(item, broker_pb2.ScreenRequest | broker_pb2.ScreenSubject)
        self.subject(item, batch)
        self.counts.subjects += 1

    # ---------------------------------------------------------------- asking

    async def ask(self, batch: _Batch) -> list[broker_pb2.ScreenEvent]:
        """Ask every country about one batch in parallel; the batch's results, in order."""
        answers: list[tuple[CountryOutcome, list[connector_pb2.KeySetHits]]] = []
        if batch.request.sets:
            batch.request.scheme_version = self.scheme.version
            batch.request.search_id = self.screening_id
            payload = batch.request.SerializeToString()
            batch.request.Clear()  # the bytes are what is sent; the keys need not stay twice
            started = time.monotonic()
            remaining = self.context.time_remaining()
            cap = None if remaining is None else max(0.0, remaining - self.margin)
            answers = await asyncio.gather(
                *(self.ask_country(c, payload, started, cap) for c in self.countries)
            )
        return self.results(batch, answers)

    async def ask_country(
        self, country: str, payload: bytes, started: float, cap: float | None
    ) -> tuple[CountryOutcome, list[connector_pb2.KeySetHits]]:
        """One country's answer to one batch (never raises)."""
        if country in self.index_only:
            detail = "index-only node: screening asks nodes live, not the reference index"
            return CountryOutcome(country, UNAVAILABLE, 0.0, detail=detail), []
        return await self.clients[country].match_batch(payload, started, cap)

    def results(
        self,
        batch: _Batch,
        answers: list[tuple[CountryOutcome, list[connector_pb2.KeySetHits]]],
    ) -> list[broker_pb2.ScreenEvent]:
        """Merge the countries' answers into one result per subject, strongest hit first."""
        found: dict[int, list[broker_pb2.CountryHit]] = {}
        sent = len(batch.subjects)
        for country, answer in zip(self.countries if answers else (), answers, strict=True):
            outcome, sets = _checked(answer, sent)
            hits = 0
            for key_set in sets:
                into = found.setdefault(int(key_set.id), [])
                for hit in key_set.hits:
                    into.append(broker_pb2.CountryHit(country=country, hit=hit))
                hits += len(key_set.hits)
            self.tallies[country].add(outcome, hits)
        results: list[broker_pb2.SubjectResult] = []
        counts = self.counts
        for position, subject in enumerate(batch.subjects):
            if subject.error:
                counts.with_errors += 1
                result = broker_pb2.SubjectResult(
                    subject_id=subject.subject_id, error=subject.error
                )
            else:
                hits_of = found.get(position)
                if hits_of:
                    counts.with_hits += 1
                    if len(hits_of) > 1:
                        hits_of.sort(key=_strength_first)
                result = broker_pb2.SubjectResult(subject_id=subject.subject_id, hits=hits_of)
            results.append(result)
        self.batches_done += 1
        if not self.grouped:
            return [broker_pb2.ScreenEvent(subject=result) for result in results]
        return _grouped(results)

    def summary(self, elapsed: float) -> broker_pb2.ScreenEvent:
        """The last event: every asked country's status, and the counts."""
        results = [self.tallies[c].result(c) for c in self.countries]
        log.info(
            "screening screening_id=%s subjects=%d with_hits=%d with_errors=%d batches=%d "
            "outcomes=%s elapsed=%.3f",
            self.screening_id,
            self.counts.subjects,
            self.counts.with_hits,
            self.counts.with_errors,
            self.batches_done,
            ",".join(
                f"{r.country}:{broker_pb2.CountryStatus.Name(r.status)[15:]}" for r in results
            ),
            elapsed,
        )
        return broker_pb2.ScreenEvent(
            summary=broker_pb2.ScreenSummary(
                screening_id=self.screening_id,
                results=results,
                subjects=self.counts.subjects,
                subjects_with_hits=self.counts.with_hits,
                subjects_with_errors=self.counts.with_errors,
                elapsed_seconds=elapsed,
            )
        )

    # ---------------------------------------------------------------- the pipeline

    async def produce(
        self,
        requests: AsyncIterator[broker_pb2.ScreenRequest],
        size: int,
        slots: asyncio.Semaphore,
        ready: asyncio.Queue[asyncio.Task[list[broker_pb2.ScreenEvent]] | None],
    ) -> None:
        """Read, key and batch; start each batch's questions once a slot is free.

        Always ends `ready` with None; a protocol problem is left in `self.problem` for the
        writer to refuse the stream with once the batches before it are sent.
        """
        inbox: asyncio.Queue[object] = asyncio.Queue(INBOX_MESSAGES)
        reader = asyncio.create_task(self.read(requests, inbox))
        try:
            async for batch in self.batches(inbox, size):
                await slots.acquire()
                ready.put_nowait(asyncio.create_task(self.ask(batch)))
            if self.problem is None:
                await reader  # the stream's own failure, if any, surfaces here
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            ready.put_nowait(None)


def _checked(
    answer: tuple[CountryOutcome, list[connector_pb2.KeySetHits]], sent: int
) -> tuple[CountryOutcome, list[connector_pb2.KeySetHits]]:
    """The answer, or ERROR when the node answered for a set the batch did not hold."""
    outcome, sets = answer
    if all(s.id.isdigit() and int(s.id) < sent for s in sets):
        return answer
    detail = "answered for a set that was not asked"
    return CountryOutcome(outcome.country, ERROR, outcome.latency_seconds, detail=detail), []


def _grouped(results: list[broker_pb2.SubjectResult]) -> list[broker_pb2.ScreenEvent]:
    """Consecutive results in as few events as the limits allow (MAX_RESULTS_PER_EVENT
    results, MAX_RESULTS_EVENT_BYTES bytes; a single larger result travels alone)."""
    events: list[broker_pb2.ScreenEvent] = []
    group: list[broker_pb2.SubjectResult] = []
    size = 0
    for result in results:
        grows = result.ByteSize() + 8
        full = len(group) >= MAX_RESULTS_PER_EVENT or size + grows > MAX_RESULTS_EVENT_BYTES
        if group and full:
            events.append(broker_pb2.ScreenEvent(results=broker_pb2.SubjectResults(results=group)))
            group, size = [], 0
        group.append(result)
        size += grows
    if group:
        events.append(broker_pb2.ScreenEvent(results=broker_pb2.SubjectResults(results=group)))
    return events


def _strength_first(hit: broker_pb2.CountryHit) -> int:
    return -hit.hit.strength


async def screen(
    requests: AsyncIterator[broker_pb2.ScreenRequest],
    context: grpc.aio.ServicerContext,
    scheme: KeyScheme,
    clients: Mapping[str, NodeClient],
    metrics: BrokerMetrics,
    *,
    margin: float,
    index_only: frozenset[str] = frozenset(),
    limits: ScreeningLimits | None = None,
) -> AsyncIterator[broker_pb2.ScreenEvent]:
    """The Screen RPC: one result per subject in input order, then the summary.

    INVALID_ARGUMENT (field named) for a missing or bad header, a bad batch-size metadata or
    a second header; RESOURCE_EXHAUSTED for more subjects than the limits allow. The
    results of batches before a problem in the middle of the stream are sent first.
    """
    started = time.monotonic()
    limits = limits or ScreeningLimits()
    try:
        header = _header(await anext(aiter(requests), None))
        countries = _countries(list(header.countries), list(clients))
        size = _batch_size(context, limits.batch_subjects)
    except ScreeningRejected as exc:
        metrics.refused.labels("invalid_argument").inc()
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return
    screening = _Screening(
        scheme,
        clients,
        countries,
        limits=limits,
        context=context,
        margin=margin,
        index_only=index_only,
        grouped=header.grouped_results,
    )
    slots = asyncio.Semaphore(limits.batches_in_flight)
    ready: asyncio.Queue[asyncio.Task[list[broker_pb2.ScreenEvent]] | None] = asyncio.Queue()
    producer = asyncio.create_task(screening.produce(requests, size, slots, ready))
    pending: list[asyncio.Task[list[broker_pb2.ScreenEvent]]] = []
    try:
        while (task := await ready.get()) is not None:
            pending.append(task)
            events = await task
            pending.pop()
            for event in events:
                yield event
            slots.release()
        await producer
    finally:
        producer.cancel()
        while not ready.empty():
            if (task := ready.get_nowait()) is not None:
                pending.append(task)
        for task in pending:
            task.cancel()
        await asyncio.gather(producer, *pending, return_exceptions=True)
    if screening.problem is not None:
        metrics.refused.labels(screening.problem_code.name.lower()).inc()
        await context.abort(screening.problem_code, screening.problem)
        return
    yield screening.summary(time.monotonic() - started)
