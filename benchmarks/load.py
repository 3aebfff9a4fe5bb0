"""Load generators: `ghz` from outside, and the harness's own grpc.aio client.

ghz (Go) is the outside load generator: it costs the two-core machine little CPU and is
not the thing being measured. The harness's client is used where ghz cannot express the
scenario: the arrival time of each country's answer inside one streamed search, and calls
made straight to the nodes one after another. Every loop here is bounded both by a count
and by a duration.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc

from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2, connector_pb2, connector_pb2_grpc

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz"

# The README's search: Jovan Petrović, held by RS, BG and RO (3 HIT, 8 NO_HIT).
CRITERIA = {
    "person": {"given_names": "Jovan", "family_names": "Petrovic", "date_of_birth": "1985-03-14"}
}
REQUEST_JSON = {"criteria": CRITERIA, "purpose": "benchmark", "legal_basis": "benchmark"}


def search_request() -> broker_pb2.SearchRequest:
    """The search every scenario sends, as a message (ghz gets the same as JSON)."""
    person = CRITERIA["person"]
    return broker_pb2.SearchRequest(
        criteria=common_pb2.Criteria(
            person=common_pb2.PersonCriteria(
                given_names=person["given_names"],
                family_names=person["family_names"],
                date_of_birth=person["date_of_birth"],
            )
        ),
        purpose=REQUEST_JSON["purpose"],
        legal_basis=REQUEST_JSON["legal_basis"],
    )


# ---------------------------------------------------------------- statistics


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class LoadResult:
    """What one load run measured: throughput and latency of whole calls."""

    tool: str
    concurrency: int
    calls: int
    errors: int
    seconds: float
    rps: float
    p50: float
    p90: float
    p99: float
    cpu: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """For the JSON report (latencies in ms)."""
        return {
            "tool": self.tool,
            "concurrency": self.concurrency,
            "calls": self.calls,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50 * 1000, 2),
            "p90_ms": round(self.p90 * 1000, 2),
            "p99_ms": round(self.p99 * 1000, 2),
            "cpu_seconds": {k: round(v, 3) for k, v in self.cpu.items()},
        }


# ---------------------------------------------------------------- ghz


def find_ghz() -> str | None:
    """ghz on PATH, or where `go install` puts it."""
    found = shutil.which("ghz")
    if found:
        return found
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    candidate = Path(gopath) / "bin" / "ghz"
    return str(candidate) if candidate.exists() else None


def run_ghz(
    ghz: str,
    address: str,
    concurrency: int,
    duration: float,
    connections: int = 1,
    *,
    total: int | None = None,
) -> LoadResult:
    """Run ghz against BrokerService.Search (server streaming: a call ends with its stream).

    With total, ghz makes that many calls (bounded by duration as a maximum); without it,
    it runs for duration. The proto files are passed, not reflection, so a bare server
    without reflection is loaded the same way.
    """
    with tempfile.NamedTemporaryFile("w+", suffix=".json") as out:
        command = [
            ghz,
            "--insecure",
            "--proto",
            "protos/selec/v1/broker.proto",
            "--import-paths",
            "protos",
            "--call",
            "selec.v1.BrokerService.Search",
            "--data",
            json.dumps(REQUEST_JSON),
            "--concurrency",
            str(concurrency),
            "--connections",
            str(max(1, min(connections, concurrency))),
            "--timeout",
            "10s",
            "--cpus",
            "1",
            "--format",
            "json",
            "--output",
            out.name,
        ]
        if total is not None:
            command += ["--total", str(total), "--max-duration", f"{duration:.0f}s"]
        else:
            # Calls still running when the time is up are left out, not counted as errors.
            command += ["--duration", f"{duration:.1f}s", "--duration-stop", "ignore"]
        done = subprocess.run(
            [*command, address],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        text = Path(out.name).read_text()
    if not text.strip():
        raise RuntimeError(f"ghz failed ({done.returncode}): {done.stderr[-500:]}")
    report = json.loads(text)
    ok = int((report.get("statusCodeDistribution") or {}).get("OK", 0))
    calls = int(report.get("count", 0))
    latency = {
        int(entry["percentage"]): entry["latency"] / 1e9
        for entry in report.get("latencyDistribution") or []
    }
    return LoadResult(
        tool="ghz",
        concurrency=concurrency,
        calls=calls,
        errors=calls - ok,
        seconds=report.get("total", 0) / 1e9,
        rps=float(report.get("rps", 0.0)),
        p50=latency.get(50, math.nan),
        p90=latency.get(90, math.nan),
        p99=latency.get(99, math.nan),
    )


# ---------------------------------------------------------------- the harness's own client


@dataclass
class SearchTiming:
    """One search as the client saw it: when each country's answer arrived, when it ended."""

    total: float
    arrivals: dict[str, float]
    statuses: dict[str, int]
    summary: bool
    error: str = ""


async def closed_loop(
    call: Callable[[], Awaitable[T]], concurrency: int, duration: float, max_calls: int
) -> tuple[list[T], float]:
    """Run call from `concurrency` workers until duration or max_calls; results and seconds."""
    stop_at = time.monotonic() + duration
    results: list[T] = []
    started = 0

    async def worker() -> None:
        nonlocal started
        while started < max_calls and time.monotonic() < stop_at:
            started += 1
            results.append(await call())

    begun = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.monotonic() - begun


def summarize(timings: list[SearchTiming], seconds: float, concurrency: int) -> LoadResult:
    """A LoadResult from the harness client's timings (errors: no summary, or a failure)."""
    totals = [t.total for t in timings]
    return LoadResult(
        tool="harness",
        concurrency=concurrency,
        calls=len(timings),
        errors=sum(1 for t in timings if t.error or not t.summary),
        seconds=seconds,
        rps=len(timings) / seconds if seconds else 0.0,
        p50=percentile(totals, 50),
        p90=percentile(totals, 90),
        p99=percentile(totals, 99),
    )


async def paced(
    call: Callable[[], Awaitable[T]], rate: float, duration: float, max_calls: int
) -> list[T]:
    """Start call `rate` times a second for duration (open loop), then wait for them all.

    Unlike a closed loop, the load does not depend on how long each call takes: a search
    that waits 1 s for a straggler does not slow the rate, so two runs compared side by
    side put the same work on the machine.
    """
    count = min(max_calls, max(1, round(rate * duration)))
    begun = time.monotonic()
    tasks: list[asyncio.Task[T]] = []
    for index in range(count):
        await asyncio.sleep(max(0.0, begun + index / rate - time.monotonic()))
        tasks.append(asyncio.ensure_future(call()))
    return list(await asyncio.gather(*tasks))


class SearchClient:
    """A grpc.aio client of BrokerService that times each streamed answer."""

    def __init__(self, address: str) -> None:
        # A subchannel pool of its own: several clients are several TCP connections, so
        # SO_REUSEPORT can spread them over the broker's workers.
        self._channel = grpc.aio.insecure_channel(
            address, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        self._stub = broker_pb2_grpc.BrokerServiceStub(self._channel)
        self._request = search_request()

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def search(self, deadline: float = 10.0) -> SearchTiming:
        """One search; arrival times are seconds from the call to each answer event."""
        started = time.perf_counter()
        arrivals: dict[str, float] = {}
        statuses: dict[str, int] = {}
        summary = False
        try:
            async for event in self._stub.Search(self._request, timeout=deadline):
                if event.HasField("answer"):
                    country = event.answer.result.country
                    arrivals[country] = time.perf_counter() - started
                    statuses[country] = event.answer.result.status
                else:
                    summary = True
                    for result in event.summary.results:
                        statuses[result.country] = result.status
        except grpc.aio.AioRpcError as exc:
            return SearchTiming(
                time.perf_counter() - started, arrivals, statuses, False, exc.code().name
            )
        return SearchTiming(time.perf_counter() - started, arrivals, statuses, summary)


class DirectNodes:
    """The harness calling the nodes itself: one after another, or all at once.

    One channel per node, created once, as the broker does, so the comparison with the
    broker is about the fan-out and not about connecting.
    """

    def __init__(self, endpoints: dict[str, str], match: connector_pb2.MatchRequest) -> None:
        self._channels = [grpc.aio.insecure_channel(a) for a in endpoints.values()]
        self._stubs = [connector_pb2_grpc.ConnectorServiceStub(c) for c in self._channels]
        self._match = match

    async def close(self) -> None:
        """Close the channels."""
        for channel in self._channels:
            await channel.close()

    async def sequential(self) -> float:
        """Ask each node in turn, waiting for each answer; the seconds it took in all."""
        started = time.perf_counter()
        for stub in self._stubs:
            await stub.Match(self._match, timeout=10)
        return time.perf_counter() - started

    async def parallel(self) -> float:
        """Ask every node at once from this client (no broker); seconds until the last."""
        started = time.perf_counter()
        await asyncio.gather(*(stub.Match(self._match, timeout=10) for stub in self._stubs))
        return time.perf_counter() - started
