"""Writing audit events off the hot path, without losing them.

Events are queued and appended in batches by one background task (group commit: one
transaction or bulk request for many events). `record` returns at once, for searches;
`record_durably` waits until its event is stored, for requests, decisions and reveals,
whose answer must not go out before their trace is kept. A batch the log refuses (its
store is down) is tried again, with a growing pause, until it is stored: the searches
answered meanwhile keep their events, in order. (A durable event's waiter is told at
once, so its call fails rather than hangs.) `close` drains the queue, so a broker
stopped with SIGTERM loses no event while its store is up. `record_once` is
`record_durably` for events derived from stored state (`broker.workflow.audit_events`),
which a broker restarted after a crash may find missing and write again: it appends only
what is not there yet.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from broker.audit import AuditLog, AuditRecord

log = logging.getLogger(__name__)

BATCH = 256
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 10.0
CLOSE_WAIT_SECONDS = 15.0
_TICK = timedelta(microseconds=1)


class AuditTrail:
    """The broker's single writer of audit events."""

    def __init__(self, audit_log: AuditLog) -> None:
        self.log = audit_log
        self._queue: asyncio.Queue[tuple[AuditRecord, asyncio.Future[None] | None]] = (
            asyncio.Queue()
        )
        self._writer = asyncio.create_task(self._write())
        self._once = asyncio.Lock()

    def record(self, record: AuditRecord) -> None:
        """Queue an event; it is stored within a few milliseconds."""
        self._queue.put_nowait((record, None))

    async def record_durably(self, record: AuditRecord) -> None:
        """Queue an event and wait until it is stored (raises if it could not be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((record, done))
        await done

    async def record_once(self, record: AuditRecord) -> bool:
        """Store ``record`` durably unless the log already holds the same event: same
        action, request, actor and time. Whether it was appended now.

        Serialized in this broker, so a retry and the start-up sweep settling the same
        step append it once. (Two broker instances settling the same step at the same
        instant could still both append it; each is the same event, told apart by seq.)
        """
        async with self._once:  # and every such event goes through here, stored or not
            if await asyncio.to_thread(self._holds, record):
                return False
            await self.record_durably(record)
            return True

    def _holds(self, record: AuditRecord) -> bool:
        return any(
            (event.action, event.request_id) == (record.action, record.request_id)
            for event in self.log.events(
                since=record.at, until=record.at + _TICK, actor=record.actor
            )
        )

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._append(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _append(self, batch: list[tuple[AuditRecord, asyncio.Future[None] | None]]) -> None:
        """Append the batch; retry what the log refused until it is stored."""
        pause = RETRY_FIRST_SECONDS
        while batch:
            try:
                await asyncio.to_thread(self.log.append_many, [record for record, _ in batch])
            except Exception as exc:
                waiting = [done for _, done in batch if done is not None]
                for done in waiting:
                    if not done.done():
                        done.set_exception(exc)
                batch = [(record, None) for record, done in batch if done is None]
                log.error(
                    "audit append failed events=%d: %s; retrying the %d without a waiter",
                    len(batch) + len(waiting),
                    type(exc).__name__,
                    len(batch),
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)
                continue
            for _, done in batch:
                if done is not None and not done.done():
                    done.set_result(None)
            return

    async def flush(self) -> None:
        """Wait until every queued event is stored."""
        await self._queue.join()

    async def close(self) -> None:
        """Drain (for a while, if the log is down), stop the writer, close the log."""
        try:
            await asyncio.wait_for(self.flush(), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            log.error(
                "audit log unreachable at shutdown: %d queued events not stored",
                self._queue.qsize() + 1,
            )
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        await asyncio.to_thread(self.log.close)
