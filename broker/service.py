"""The BrokerService: validate, key, fan out, merge with the index, stream, summarize.

The summary is the broker's promise to the officer: every asked country appears in it
with a status, and a country that did not answer is never NO_HIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import grpc

from broker.audit import AuditRecord
from broker.audit_trail import AuditTrail
from broker.auth import current_identity
from broker.criteria import (
    DEFAULT_LIMITS,
    CriteriaLimits,
    CriteriaOverLimit,
    InvalidCriteria,
    search_keys,
)
from broker.index import (
    IndexedKey,
    IndexedReference,
    IndexMatch,
    Publication,
    ReferenceIndexError,
)
from broker.indexing import IndexView, PublicationFeed
from broker.merge import correlate, indexed_outcome
from broker.metrics import BrokerMetrics
from broker.nodes import (
    HIT,
    INDEXED_NO_HIT,
    MAX_DETAIL,
    NO_HIT,
    TIMEOUT,
    UNAVAILABLE,
    CountryOutcome,
    NodeClient,
    fan_out,
)
from broker.screening import ScreeningLimits, screen
from connectors.keys import KeyScheme
from connectors.records import CATEGORIES, KINDS
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2, connector_pb2

log = logging.getLogger(__name__)

MAX_PURPOSE = 200
MAX_COUNTRIES = 64
STATUS_DEADLINE_SECONDS = 1.0
_KIND_NAMES = {number: name for name, number in KINDS.items()}
_CATEGORY_NAMES = {number: name for name, number in CATEGORIES.items()}
INDEX_LATE = "reference index did not answer in time"
INDEX_DOWN = "reference index unavailable"
NOT_PUBLISHED = "not published to the reference index"
# Longest a live HIT waits for the index answer to be cross-checked against (usually a
# few ms, and it started with the fan-out); past it the HIT goes out unchecked.
REFERENCE_CHECK_WAIT_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class _IndexAnswer:
    """What the reference index said for one search, or why it said nothing.

    ``problem`` is empty when the index answered; else it says why not (late or
    unavailable), and countries that needed the index are reported with that reason,
    never as NO_HIT.
    """

    published: Mapping[str, Publication]
    matches: Mapping[str, list[IndexMatch]]
    problem: str = ""
    late: bool = False


@dataclass(frozen=True, slots=True)
class _Search:
    """What every country's question in one search shares."""

    request: connector_pb2.MatchRequest
    started: float
    cap: float | None
    index_answer: asyncio.Task[_IndexAnswer] | None

    def left(self) -> float | None:
        """Seconds of the caller's budget still left (None: no caller deadline)."""
        return None if self.cap is None else max(0.0, self.cap - self.elapsed())

    def elapsed(self) -> float:
        """Seconds since the search started."""
        return time.monotonic() - self.started


class SearchRejected(ValueError):
    """The request is malformed; the message names the field."""


def _required_text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise SearchRejected(f"{field}: required")
    if len(value) > MAX_PURPOSE:
        raise SearchRejected(f"{field}: longer than {MAX_PURPOSE} characters")
    if any(ch < " " for ch in value):
        raise SearchRejected(f"{field}: contains control characters")
    return value


def _auditable(text: str) -> str:
    """text as the audit log takes it: a refused search's purpose may be anything."""
    return "".join(ch if ch >= " " and ch != "\x7f" else "?" for ch in text[:MAX_PURPOSE])


class BrokerServicer(broker_pb2_grpc.BrokerServiceServicer):
    """Serves Search over the configured nodes and the reference index, and Publish."""

    def __init__(
        self,
        scheme: KeyScheme,
        clients: Mapping[str, NodeClient],
        answer_margin_seconds: float,
        metrics: BrokerMetrics,
        *,
        index: IndexView | None = None,
        index_only: frozenset[str] = frozenset(),
        audit: AuditTrail | None = None,
        publishers_need_identity: bool = False,
        criteria_limits: CriteriaLimits = DEFAULT_LIMITS,
        screening_limits: ScreeningLimits | None = None,
    ) -> None:
        self._scheme = scheme
        self._clients = clients
        self._margin = answer_margin_seconds
        self._metrics = metrics
        self._index = index
        self._index_only = index_only
        self._audit = audit
        self._publishers_need_identity = publishers_need_identity
        self._criteria_limits = criteria_limits
        self._screening_limits = screening_limits

    def _audit_search(
        self,
        request: broker_pb2.SearchRequest,
        outcome: str,
        countries: list[str],
        *,
        keys: tuple[str, ...] = (),
        search_id: str = "",
        final: list[CountryOutcome] | None = None,
        detail: str = "",
    ) -> None:
        """Audit a search and each hit it returned: criteria as blind keys only."""
        if self._audit is None:
            return
        who = current_identity.get()
        now = dt.datetime.now(dt.UTC)
        common = {
            "at": now,
            "actor": who.officer,
            "actor_country": who.country,
            "purpose": _auditable(request.purpose),
            "legal_basis": _auditable(request.legal_basis),
            "search_id": search_id,
        }
        self._audit.record(
            AuditRecord(
                action="search",
                outcome=outcome,
                countries=tuple(countries),
                blind_keys=keys,
                detail=detail[:200],
                **common,
            )
        )
        for country_outcome in final or ():
            for hit in country_outcome.hits:
                self._audit.record(
                    AuditRecord(
                        action="hit",
                        outcome=broker_pb2.CountryStatus.Name(country_outcome.status)
                        .removeprefix("COUNTRY_STATUS_")
                        .lower(),
                        countries=(country_outcome.country,),
                        reference=hit.reference,
                        **common,
                    )
                )

    def _countries(self, asked: list[str]) -> list[str]:
        if not asked:
            return list(self._clients)
        if len(asked) > MAX_COUNTRIES:
            raise SearchRejected(f"countries: at most {MAX_COUNTRIES}")
        chosen = list(dict.fromkeys(code.strip().upper() for code in asked))
        unknown = [code for code in chosen if code not in self._clients]
        if unknown:
            listed = ", ".join(repr(code[:8]) for code in unknown[:5])
            raise SearchRejected(
                f"countries: not in this federation: {listed} "
                f"(expected some of {', '.join(self._clients)})"
            )
        return chosen

    async def _publications(self, within: float | None = None) -> dict[str, Publication]:
        """The index's publications, read within the index's own timeout (or ``within``).

        Raises TimeoutError or ReferenceIndexError: a caller must tell "not published"
        from "could not be read", or an index that is down would turn countries that
        publish into countries that never did.
        """
        assert self._index is not None
        limit = self._index.lookup_timeout_seconds
        async with asyncio.timeout(limit if within is None else min(limit, within)):
            return await self._index.publications()

    async def _read_index(
        self, digests: list[str], countries: list[str], cap: float | None
    ) -> _IndexAnswer:
        """Publications and matches of the asked countries; never raises.

        Runs beside the fan-out (live answers do not wait for the index) and within the
        index's timeout and the caller's budget, so a slow or stopped index costs the
        search at most that, and says so.
        """
        assert self._index is not None
        try:
            published = await self._publications(cap)
        except TimeoutError:
            log.warning("reference index did not list its publications in time")
            return _IndexAnswer({}, {}, INDEX_LATE, late=True)
        except ReferenceIndexError as exc:
            log.warning("reference index unreadable: %s", exc)
            return _IndexAnswer({}, {}, INDEX_DOWN)
        published = {c: p for c, p in published.items() if c in countries}
        if not published:
            return _IndexAnswer(published, {})
        try:
            matches = await self._index.lookup(digests, list(published))
        except TimeoutError:
            return _IndexAnswer(published, {}, INDEX_LATE, late=True)
        except ReferenceIndexError as exc:
            log.warning("reference index lookup failed: %s", exc)
            return _IndexAnswer(published, {}, INDEX_DOWN)
        return _IndexAnswer(published, matches)

    async def _ask(self, country: str, search: _Search) -> CountryOutcome:
        """One country's outcome: live, or from the index when it is index-only or down."""
        if country in self._index_only:
            return await self._from_index(country, "index-only node", search, None)
        outcome = await self._clients[country].ask(search.request, search.started, search.cap)
        if outcome.status in (UNAVAILABLE, TIMEOUT):
            return await self._from_index(country, outcome.detail, search, outcome)
        if outcome.status == HIT and search.index_answer is not None:
            await self._check_published(outcome, search)
        return outcome

    async def _check_published(self, outcome: CountryOutcome, search: _Search) -> None:
        """Note on a live HIT how many of its hits the country's publication lacks.

        The broker cannot prove a node never issued a reference, but a hit that the
        country's last publication does not hold for these keys is either recorded since
        (legitimate: the status stays HIT) or not issued by the node (a buggy node, a
        stale database after a replace-import): the officer is told the count, and step
        two settles it, where the node refuses a reference it does not hold. Waits for the
        index answer at most REFERENCE_CHECK_WAIT_SECONDS and never past the caller's
        budget; an index that is late, down, or without a publication of the country
        leaves the HIT as it is. Counts only in the detail, the log and the metric: no
        reference, no criteria.
        """
        assert search.index_answer is not None
        left = search.left()
        wait = (
            REFERENCE_CHECK_WAIT_SECONDS
            if left is None
            else min(left, REFERENCE_CHECK_WAIT_SECONDS)
        )
        try:
            answer = await asyncio.wait_for(asyncio.shield(search.index_answer), wait)
        except TimeoutError:
            return
        publication = answer.published.get(outcome.country)
        if publication is None or answer.problem:
            return
        held = {match.reference for match in answer.matches.get(outcome.country, ())}
        missing = sum(1 for hit in outcome.hits if hit.reference not in held)
        if not missing:
            return
        as_of = publication.as_of.isoformat(timespec="seconds")
        verb = "is" if missing == 1 else "are"
        note = (
            f"{missing} of {len(outcome.hits)} hits {verb} not in its publication of {as_of} "
            "(recorded since, or not issued by it)"
        )
        outcome.detail = f"{outcome.detail}; {note}"[:MAX_DETAIL] if outcome.detail else note
        self._metrics.unpublished_hits.labels(outcome.country).inc(missing)
        log.warning(
            "hits not in publication search_id=%s country=%s missing=%d hits=%d as_of=%s",
            search.request.search_id,
            outcome.country,
            missing,
            len(outcome.hits),
            as_of,
        )

    async def _from_index(
        self, country: str, reason: str, search: _Search, live: CountryOutcome | None
    ) -> CountryOutcome:
        """The country's answer from its last publication; when the index cannot give one,
        the live outcome (or UNAVAILABLE / TIMEOUT) with the reason, never a NO_HIT."""

        def unanswered(why: str, late: bool = False) -> CountryOutcome:
            if live is not None:
                live.detail = f"{live.detail}; {why}"
                return live
            status = TIMEOUT if late else UNAVAILABLE
            return CountryOutcome(country, status, search.elapsed(), detail=why)

        if search.index_answer is None:
            return live if live is not None else unanswered(NOT_PUBLISHED)
        try:
            answer = await asyncio.wait_for(asyncio.shield(search.index_answer), search.left())
        except TimeoutError:
            return unanswered(INDEX_LATE, late=True)
        publication = answer.published.get(country)
        if publication is None:
            if answer.problem:
                return unanswered(answer.problem, answer.late)
            return live if live is not None else unanswered(NOT_PUBLISHED)
        if answer.problem:
            return unanswered(answer.problem, answer.late)
        return indexed_outcome(
            country, answer.matches.get(country, []), publication, search.elapsed(), reason
        )

    async def Search(
        self, request: broker_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[broker_pb2.SearchEvent]:
        """Stream each asked country's answer, then the summary."""
        started = time.monotonic()
        try:
            _required_text(request.purpose, "purpose")
            _required_text(request.legal_basis, "legal_basis")
            countries = self._countries(list(request.countries))
            keys = search_keys(request.criteria, self._scheme, self._criteria_limits)
        except (SearchRejected, InvalidCriteria) as exc:
            code = (
                grpc.StatusCode.RESOURCE_EXHAUSTED
                if isinstance(exc, CriteriaOverLimit)
                else grpc.StatusCode.INVALID_ARGUMENT
            )
            self._metrics.refused.labels(code.name.lower()).inc()
            self._audit_search(
                request,
                "refused",
                [
                    code
                    for code in (c.strip().upper() for c in request.countries[:MAX_COUNTRIES])
                    if code in self._clients
                ],
                detail=str(exc).split(":")[0],
            )
            await context.abort(code, str(exc))
            return
        search_id = uuid.uuid4().hex
        remaining = context.time_remaining()
        cap = None if remaining is None else max(0.0, remaining - self._margin)
        match = connector_pb2.MatchRequest(
            scheme_version=self._scheme.version,
            keys=[common_pb2.BlindKey(key_type=k.key_type, digest=k.digest) for k in keys.keys],
            search_id=search_id,
            sex=keys.sex,  # type: ignore[arg-type]
        )
        index_answer = None
        if self._index is not None:
            index_answer = asyncio.create_task(
                self._read_index([k.digest for k in keys.keys], countries, cap)
            )
        search = _Search(match, started, cap, index_answer)
        outcomes: dict[str, CountryOutcome] = {}
        stream = fan_out(self._ask(c, search) for c in countries)
        try:
            async for outcome in stream:
                outcomes[outcome.country] = outcome
                self._record(outcome)
                yield broker_pb2.SearchEvent(
                    answer=broker_pb2.CountryAnswer(result=outcome.result(), hits=outcome.hits)
                )
        finally:
            await stream.aclose()
            if index_answer is not None:
                index_answer.cancel()
                await asyncio.gather(index_answer, return_exceptions=True)
        elapsed = time.monotonic() - started
        final = [
            outcomes.get(c) or CountryOutcome(c, TIMEOUT, elapsed, detail="no answer")
            for c in countries
        ]
        strengths = {k.key_type: int(k.strength) for k in keys.keys}
        subjects = correlate(final, strengths)
        results = [outcome.result() for outcome in final]
        self._metrics.searches.labels(_search_outcome(final)).inc()
        self._audit_search(
            request,
            _search_outcome(final),
            countries,
            keys=tuple(f"{k.key_type}:{k.digest}" for k in keys.keys),
            search_id=search_id,
            final=final,
        )
        log.info(
            "search search_id=%s countries=%d keys=%d outcomes=%s subjects=%d elapsed=%.3f",
            search_id,
            len(countries),
            len(match.keys),
            ",".join(
                f"{r.country}:{broker_pb2.CountryStatus.Name(r.status)[15:]}" for r in results
            ),
            len(subjects),
            elapsed,
        )
        yield broker_pb2.SearchEvent(
            summary=broker_pb2.SearchSummary(
                search_id=search_id,
                results=results,
                elapsed_seconds=elapsed,
                subjects=subjects,
            )
        )

    async def Screen(
        self,
        request_iterator: AsyncIterator[broker_pb2.ScreenRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[broker_pb2.ScreenEvent]:
        """Screen a stream of subjects: a result per subject in order, then the summary.

        Audited like a search: one search event for the screening (purpose, legal basis,
        countries, counts) and one hit event per hit returned.
        """
        headers: list[broker_pb2.ScreenHeader] = []

        async def watched() -> AsyncIterator[broker_pb2.ScreenRequest]:
            async for message in request_iterator:
                if message.HasField("header") and not headers:
                    headers.append(message.header)
                yield message

        hits: list[tuple[str, str]] = []
        events = screen(
            watched(),
            context,
            self._scheme,
            self._clients,
            self._metrics,
            margin=self._margin,
            index_only=self._index_only,
            limits=self._screening_limits,
        )
        async for event in events:
            if event.HasField("subject"):
                hits.extend((h.country, h.hit.reference) for h in event.subject.hits)
            elif event.HasField("results"):
                for result in event.results.results:
                    if result.hits:
                        hits.extend((h.country, h.hit.reference) for h in result.hits)
            elif headers:
                self._audit_screening(headers[0], event.summary, hits)
            yield event

    def _audit_screening(
        self,
        header: broker_pb2.ScreenHeader,
        summary: broker_pb2.ScreenSummary,
        hits: list[tuple[str, str]],
    ) -> None:
        if self._audit is None:
            return
        who = current_identity.get()
        common = {
            "at": dt.datetime.now(dt.UTC),
            "actor": who.officer,
            "actor_country": who.country,
            "purpose": header.purpose[:MAX_PURPOSE],
            "legal_basis": header.legal_basis[:MAX_PURPOSE],
            "search_id": summary.screening_id,
        }
        self._audit.record(
            AuditRecord(
                action="search",
                outcome="hit" if summary.subjects_with_hits else "no_hit",
                countries=tuple(r.country for r in summary.results),
                detail=(
                    f"screening of {summary.subjects} subjects, "
                    f"{summary.subjects_with_hits} with hits, "
                    f"{summary.subjects_with_errors} refused"
                ),
                **common,
            )
        )
        for country, reference in hits:
            self._audit.record(
                AuditRecord(
                    action="hit",
                    outcome="hit",
                    countries=(country,),
                    reference=reference,
                    **common,
                )
            )

    async def GetStatus(
        self, request: broker_pb2.GetStatusRequest, context: grpc.aio.ServicerContext
    ) -> broker_pb2.GetStatusResponse:
        """Each node: reachable now, suspended, recent latency, last publication."""
        publications: dict[str, Publication] = {}
        index_reachable = False
        if self._index is not None:
            with contextlib.suppress(TimeoutError, ReferenceIndexError):
                publications = await self._publications(STATUS_DEADLINE_SECONDS)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_DEADLINE_SECONDS):
                    index_reachable = await self._index.ping()
        nodes = await asyncio.gather(
            *(self._node_status(c, publications.get(c)) for c in self._clients)
        )
        return broker_pb2.GetStatusResponse(nodes=nodes, index_reachable=index_reachable)

    async def _node_status(
        self, country: str, publication: Publication | None
    ) -> broker_pb2.NodeStatus:
        client = self._clients[country]
        state = client.suspension.state()
        recent = list(client.recent_latencies)
        status = broker_pb2.NodeStatus(
            country=country,
            suspended=state.suspended,
            suspended_for_seconds=state.remaining_seconds,
            consecutive_failures=state.consecutive_failures,
            p50_seconds=_percentile(recent, 0.50),
            p99_seconds=_percentile(recent, 0.99),
            recent_calls=len(recent),
            index_only=country in self._index_only,
            detail=state.last_failure if state.suspended else "",
        )
        if publication is not None:
            status.published_as_of.FromDatetime(publication.as_of)
            status.published_references = publication.reference_count
        try:
            await client.describe(STATUS_DEADLINE_SECONDS)
            status.reachable = True
        except grpc.aio.AioRpcError as exc:
            status.detail = status.detail or f"{exc.code().name}: {(exc.details() or '')[:80]}"
        return status

    def _record(self, outcome: CountryOutcome) -> None:
        name = broker_pb2.CountryStatus.Name(outcome.status).removeprefix("COUNTRY_STATUS_")
        self._metrics.country_calls.labels(outcome.country, name.lower()).inc()
        self._metrics.country_call_seconds.labels(outcome.country).observe(outcome.latency_seconds)

    async def _check_publisher(self, country: str, context: grpc.aio.ServicerContext) -> None:
        """With authentication on, only that country's node (role node) or an admin."""
        if not self._publishers_need_identity:
            return
        who = current_identity.get()
        if not (who.has("admin") or (who.has("node") and who.country == country)):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"only the {country} node (or an admin) may publish for {country}",
            )

    def _header_problem(
        self, first: broker_pb2.PublishRequest | None
    ) -> tuple[grpc.StatusCode, str] | None:
        if first is None or not first.HasField("header"):
            return grpc.StatusCode.INVALID_ARGUMENT, "header: the first message must be a header"
        header = first.header
        if header.country not in self._clients:
            return (
                grpc.StatusCode.INVALID_ARGUMENT,
                f"header.country: not in this federation: {header.country[:8]!r}",
            )
        if header.scheme_version != self._scheme.version:
            return (
                grpc.StatusCode.FAILED_PRECONDITION,
                f"header.scheme_version: {header.scheme_version[:16]!r} is not the broker's "
                f"{self._scheme.version!r}",
            )
        if not header.HasField("as_of"):
            return grpc.StatusCode.INVALID_ARGUMENT, "header.as_of: required"
        try:
            header.as_of.ToDatetime(tzinfo=dt.UTC)
        except ValueError:
            return (
                grpc.StatusCode.INVALID_ARGUMENT,
                "header.as_of: not a valid time (years 1 to 9999, nanos 0 to 999,999,999)",
            )
        return None

    async def Publish(
        self,
        request_iterator: AsyncIterator[broker_pb2.PublishRequest],
        context: grpc.aio.ServicerContext,
    ) -> broker_pb2.PublishResponse:
        """Replace a country's publication with the streamed references, atomically."""
        started = time.monotonic()
        seen: dict[str, str] = {}
        outcome = "failed"
        try:
            reply = await self._publish(request_iterator, context, seen)
            outcome = "ok"
            country = reply.country
            self._metrics.indexed_references.labels(country).set(reply.reference_count)
            return reply
        except grpc.aio.AbortError:
            outcome = "refused"
            raise
        finally:
            country = seen.get("country", "")
            if country:
                self._metrics.publishes.labels(country, outcome).inc()
                self._metrics.publish_seconds.labels(country).observe(time.monotonic() - started)
            else:
                self._metrics.refused.labels("invalid_publication").inc()

    async def _publish(
        self,
        request_iterator: AsyncIterator[broker_pb2.PublishRequest],
        context: grpc.aio.ServicerContext,
        seen: dict[str, str],
    ) -> broker_pb2.PublishResponse:
        if self._index is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "this broker has no reference index"
            )
        first = await anext(aiter(request_iterator), None)
        if first is not None and first.HasField("header"):
            await self._check_publisher(first.header.country, context)
        rejection = self._header_problem(first)
        if rejection is not None:
            await context.abort(*rejection)
        assert first is not None
        header = first.header
        seen["country"] = header.country
        as_of = header.as_of.ToDatetime(tzinfo=dt.UTC)
        feed = PublicationFeed()
        assert self._index is not None
        writer = self._index.start_publish(header.country, feed, as_of)
        try:
            problem = await _feed_references(request_iterator, header.country, feed, writer)
        except BaseException:
            await feed.abort("the publishing stream broke off")
            await asyncio.gather(writer, return_exceptions=True)
            raise
        if problem is not None:
            await feed.abort(problem[1])
            await asyncio.gather(writer, return_exceptions=True)
            await context.abort(*problem)
        await feed.finish()
        try:
            publication = await writer
        except ReferenceIndexError as exc:
            await context.abort(exc.status, f"reference index: {exc.message}")
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"references: {exc}")
        self._index.forget_publications()
        log.info("published country=%s references=%d", header.country, publication.reference_count)
        response = broker_pb2.PublishResponse(
            country=header.country, reference_count=publication.reference_count
        )
        response.as_of.FromDatetime(publication.as_of)
        return response


async def _feed_references(
    request_iterator: AsyncIterator[broker_pb2.PublishRequest],
    country: str,
    feed: PublicationFeed,
    writer: asyncio.Future[Publication],
) -> tuple[grpc.StatusCode, str] | None:
    """Pass the stream's references to the index writer; what is wrong with it, if anything.

    Only an end message with the right count completes a publication: a stream that is
    cut off or cancelled must never be taken for a whole one.
    """
    position = 0
    ended = False
    async for message in request_iterator:
        if writer.done():
            return None  # the index gave up (its error is the answer) or the stream ran on
        if ended:
            return grpc.StatusCode.INVALID_ARGUMENT, "end: must be the last message"
        if message.HasField("end"):
            ended = True
            if message.end.reference_count != position:
                return (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"end.reference_count: {message.end.reference_count}, but {position} "
                    "references arrived; nothing changed",
                )
            continue
        if not message.HasField("references"):
            return grpc.StatusCode.INVALID_ARGUMENT, "only the first message may be a header"
        try:
            batch = [_indexed(country, r) for r in message.references.references]
        except ValueError as exc:
            return grpc.StatusCode.INVALID_ARGUMENT, f"references[{position}]: {exc}"
        position += len(batch)
        if not await feed.put(batch):
            return None  # the index gave up: its error is the answer
    if not ended and not writer.done():
        return (
            grpc.StatusCode.INVALID_ARGUMENT,
            "the stream ended without its end message (cut off?); nothing changed",
        )
    return None


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _search_outcome(outcomes: list[CountryOutcome]) -> str:
    if any(o.hits for o in outcomes):
        return "hit"
    if all(o.status in (NO_HIT, INDEXED_NO_HIT) for o in outcomes):
        return "no_hit"
    return "incomplete"


def _indexed(country: str, reference: broker_pb2.PublishedReference) -> IndexedReference:
    kind = _KIND_NAMES.get(reference.kind)
    category = _CATEGORY_NAMES.get(reference.category)
    if kind is None:
        raise ValueError("kind: unknown")
    if category is None:
        raise ValueError("category: unknown")
    return IndexedReference(
        country=country,
        reference=reference.reference,
        kind=kind,
        category=category,
        keys=tuple(IndexedKey(k.key_type, int(k.strength), k.digest) for k in reference.keys),
    )
