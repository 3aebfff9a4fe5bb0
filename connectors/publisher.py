"""Publishing a node's anonymized references to the broker's reference index.

A publication is the node's whole content, as of one moment: the broker replaces the
country's previous publication atomically once the stream ends cleanly, so a record
deleted or changed at home is gone or changed after the next publish, and a publication
cut off half-way changes nothing. Only references, kinds, categories and blind keys leave
the node: never a name, a date or a number.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import timestamp_pb2

from connectors.records import CATEGORIES, KINDS
from connectors.store import PublishedRecord, RecordStore, StoreError
from selec.v1 import broker_pb2, broker_pb2_grpc

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
RETRY_SECONDS = 5.0
# A node first comes up, then publishes: a federation starting at once is ready sooner.
START_DELAY_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class PublishSchedule:
    """Where and how often a node publishes."""

    broker: str
    interval_seconds: float
    on_start: bool
    deadline_seconds: float = 600.0
    token_file: Path | None = None


@dataclass(frozen=True, slots=True)
class BrokerAccess:
    """How a node reaches the broker: TLS (trusting the federation CA) and its token."""

    credentials: grpc.ChannelCredentials | None = None
    token: str | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata carrying the token."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def timestamp(moment: dt.datetime) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp of an aware datetime."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp


def publication_stream(
    country: str,
    scheme_version: str,
    records: Iterable[PublishedRecord],
    as_of: dt.datetime,
    batch_size: int = BATCH_SIZE,
) -> Iterator[broker_pb2.PublishRequest]:
    """The Publish request stream: a header, then batches of references."""
    yield broker_pb2.PublishRequest(
        header=broker_pb2.PublishHeader(
            country=country, as_of=timestamp(as_of), scheme_version=scheme_version
        )
    )
    batch: list[broker_pb2.PublishedReference] = []
    count = 0
    for record in records:
        count += 1
        batch.append(
            broker_pb2.PublishedReference(
                reference=record.reference,
                kind=KINDS[record.kind],  # type: ignore[arg-type]
                category=CATEGORIES[record.category],  # type: ignore[arg-type]
                keys=[
                    broker_pb2.PublishedKey(key_type=t, strength=s, digest=d)  # type: ignore[arg-type]
                    for t, s, d in record.keys
                ],
            )
        )
        if len(batch) >= batch_size:
            yield broker_pb2.PublishRequest(
                references=broker_pb2.PublishedReferences(references=batch)
            )
            batch = []
    if batch:
        yield broker_pb2.PublishRequest(references=broker_pb2.PublishedReferences(references=batch))
    yield broker_pb2.PublishRequest(end=broker_pb2.PublishEnd(reference_count=count))


def publish(
    store: RecordStore,
    country: str,
    scheme_version: str,
    broker: str,
    deadline_seconds: float = 600.0,
    *,
    access: BrokerAccess | None = None,
) -> broker_pb2.PublishResponse:
    """Publish everything the store holds to the broker at HOST:PORT (blocking).

    Raises grpc.RpcError when the broker refuses or cannot be reached.
    """
    access = access or BrokerAccess()
    as_of = dt.datetime.now(dt.UTC)
    channel = (
        grpc.secure_channel(broker, access.credentials)
        if access.credentials is not None
        else grpc.insecure_channel(broker)
    )
    with channel:
        stub = broker_pb2_grpc.BrokerServiceStub(channel)
        stream = publication_stream(country, scheme_version, store.published_records(), as_of)
        return stub.Publish(stream, timeout=deadline_seconds, metadata=access.metadata())


def _failure(exc: grpc.RpcError | StoreError) -> str:
    """What a failed publication's log says: the gRPC code, or the database's trouble."""
    if isinstance(exc, StoreError):
        return f"node database: {exc}"
    return exc.code().name  # type: ignore[attr-defined]


def _generation(store: RecordStore) -> str | None:
    read = getattr(store, "generation", None)
    return read() if read is not None else None


def _start_delay(store: RecordStore, schedule: PublishSchedule) -> float:
    """0 when the records changed since the last publication to this broker (or it is due);
    else the time left until it is due. A restart then does not republish unchanged data,
    and the schedule carries on across restarts.
    """
    last_publication = getattr(store, "last_publication", None)
    generation = _generation(store)
    last = last_publication(schedule.broker) if last_publication is not None else None
    if last is None or generation is None or last[0] != generation:
        return START_DELAY_SECONDS
    return max(START_DELAY_SECONDS, last[1] + schedule.interval_seconds - time.time())


async def publish_on_schedule(
    store: RecordStore,
    country: str,
    scheme_version: str,
    schedule: PublishSchedule,
    access: BrokerAccess | None = None,
) -> None:
    """Publish at start (if asked) and then every interval, until cancelled.

    A failed publication is logged and tried again sooner (after 5 s, doubling up to the
    interval): the previous publication stays in the index meanwhile. That includes the
    node's own database failing or being gone (StoreError): the publisher must outlive
    it, or the node would never publish again once the database is back.
    """
    delay = _start_delay(store, schedule) if schedule.on_start else schedule.interval_seconds
    failures = 0
    while True:
        await asyncio.sleep(delay)
        try:
            generation = _generation(store)
            reply = await asyncio.to_thread(
                functools.partial(
                    publish,
                    store,
                    country,
                    scheme_version,
                    schedule.broker,
                    schedule.deadline_seconds,
                    access=access,
                )
            )
        except (grpc.RpcError, StoreError) as exc:
            log.warning(
                "publish failed country=%s broker=%s code=%s",
                country,
                schedule.broker,
                _failure(exc),
            )
            failures += 1
            delay = min(RETRY_SECONDS * 2 ** (failures - 1), schedule.interval_seconds)
            continue
        log.info("published country=%s references=%d", country, reply.reference_count)
        if generation is not None:
            mark = store.mark_published  # type: ignore[attr-defined]
            try:
                await asyncio.to_thread(mark, schedule.broker, generation, time.time())
            except StoreError as exc:  # not remembered: a restart publishes again, no harm
                log.warning("publication not recorded country=%s: %s", country, exc)
        failures = 0
        delay = schedule.interval_seconds
