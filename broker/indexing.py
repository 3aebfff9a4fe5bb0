"""The broker's asynchronous view of the reference index.

Both index drivers are synchronous, so every call runs in a worker thread. The
publications (which country published, as of when) are read once every few seconds, not
once per search: a search only needs to know whether a country has published at all.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from broker.index import (
    IndexedReference,
    IndexMatch,
    Publication,
    ReferenceIndex,
    ReferenceIndexError,
)
from broker.metrics import BrokerMetrics

PUBLICATIONS_TTL_SECONDS = 5.0
FEED_POLL_SECONDS = 0.005
CONCURRENT_PUBLICATIONS = 2
_END = object()


class _PublishAborted(Exception):
    """The publishing stream broke off; the index must keep the previous publication."""


class IndexView:
    """Async, cached access to one ReferenceIndex."""

    def __init__(
        self,
        index: ReferenceIndex,
        lookup_timeout_seconds: float,
        metrics: BrokerMetrics,
        publications_ttl: float = PUBLICATIONS_TTL_SECONDS,
    ) -> None:
        self.index = index
        self._metrics = metrics
        self.lookup_timeout_seconds = lookup_timeout_seconds
        self._ttl = publications_ttl
        # None until a read succeeds: an empty dict would say "nobody published".
        self._publications: dict[str, Publication] | None = None
        self._failure: ReferenceIndexError | None = None
        self._read_at = float("-inf")
        self._refresh: asyncio.Task[dict[str, Publication]] | None = None
        # Publications are long writes: their own threads, so they never starve the
        # look-ups of the shared default executor (nor deadlock it).
        self._writers = ThreadPoolExecutor(CONCURRENT_PUBLICATIONS, "selec-publish")

    def start_publish(
        self, country: str, feed: PublicationFeed, as_of: datetime
    ) -> asyncio.Future[Publication]:
        """Run the index's publish of country in a writer thread, consuming feed."""
        loop = asyncio.get_running_loop()
        writer = loop.run_in_executor(
            self._writers, self.index.publish, country, feed.references(), as_of
        )
        feed.consumed_by(writer)
        return writer

    def close(self) -> None:
        """Wait for publications under way, then close the index."""
        self._writers.shutdown(wait=True)
        self.index.close()

    async def publications(self) -> dict[str, Publication]:
        """Each published country's publication; at most a few seconds old.

        Raises ReferenceIndexError when the last read failed, until the next one: what
        was read before the failure may no longer hold (the cluster may come back empty,
        or another), and a lookup against it would call a country published that is not.
        """
        if time.monotonic() - self._read_at < self._ttl:
            if self._failure is not None:  # still unreadable, neither "empty" nor as before
                raise type(self._failure)(self._failure.message, self._failure.status)
            if self._publications is not None:
                return self._publications
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._read_publications())
            # Its failure is each waiter's to handle; none may be left waiting to see it.
            self._refresh.add_done_callback(lambda task: task.cancelled() or task.exception())
        # Shielded: a caller that stops waiting (its deadline) leaves the one read under
        # way to finish and fill the cache, rather than every search starting another.
        return await asyncio.shield(self._refresh)

    async def _read_publications(self) -> dict[str, Publication]:
        try:
            publications = await asyncio.to_thread(self.index.publications)
        except ReferenceIndexError as exc:
            # Until the TTL is up, callers hear this: not "empty", not the stale read.
            self._publications, self._failure = None, exc
            raise
        finally:
            self._read_at = time.monotonic()  # failed too: do not hammer an index that is down
        self._publications, self._failure = publications, None
        return publications

    def forget_publications(self) -> None:
        """Drop the cache (after a publish through this broker)."""
        self._read_at = float("-inf")

    async def lookup(
        self, digests: Sequence[str], countries: Sequence[str]
    ) -> dict[str, list[IndexMatch]]:
        """Matches by country, within the lookup timeout (TimeoutError past it)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            async with asyncio.timeout(self.lookup_timeout_seconds):
                matches = await asyncio.to_thread(self.index.lookup, list(digests), list(countries))
            outcome = "ok"
        except TimeoutError:
            outcome = "timeout"
            raise
        finally:
            self._metrics.index_lookups.labels(outcome).inc()
            self._metrics.index_lookup_seconds.observe(time.perf_counter() - started)
        by_country: dict[str, list[IndexMatch]] = {}
        for match in matches:
            by_country.setdefault(match.country, []).append(match)
        return by_country

    async def ping(self) -> bool:
        """Whether the index is usable now."""
        return await asyncio.to_thread(self.index.ping)


class PublicationFeed:
    """Hands references from an async gRPC stream to the index's synchronous publish.

    The bounded queue gives back-pressure: the stream is read no faster than the index
    writes, so a publication of millions of references never sits in memory.
    """

    def __init__(self, depth: int = 4) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._writer: asyncio.Future[Publication] | None = None

    def consumed_by(self, writer: asyncio.Future[Publication]) -> None:
        """The publish that reads this feed: once it has ended, nothing waits for room.

        A publish can end before it reads everything (the index went down while it was
        creating the generation): without this, the stream's next batches would wait
        for room in a queue nobody empties, and the caller would hang to its deadline
        instead of hearing the index's error.
        """
        self._writer = writer

    def references(self) -> Iterator[IndexedReference]:
        """What the index's publish consumes (in its worker thread)."""
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item  # type: ignore[misc]

    @property
    def writer_ended(self) -> bool:
        """Whether the publish reading this feed has ended (then its outcome is the answer)."""
        return self._writer is not None and self._writer.done()

    async def _put(self, item: object) -> bool:
        # Polling rather than a thread per put: worker threads are for the index's writes.
        while not self.writer_ended:
            try:
                self._queue.put_nowait(item)
                return True
            except queue.Full:
                await asyncio.sleep(FEED_POLL_SECONDS)
        return False

    async def put(self, batch: list[IndexedReference]) -> bool:
        """Queue a batch, waiting while the index is behind; False if the publish ended."""
        return await self._put(batch)

    async def finish(self) -> None:
        """The stream ended cleanly: let publish commit."""
        await self._put(_END)

    async def abort(self, why: str) -> None:
        """The stream failed: make publish raise, so the previous publication stays."""
        await self._put(_PublishAborted(why))
