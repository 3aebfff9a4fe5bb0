"""Scenario 5: batch screening through `BrokerService.Screen`, against one-by-one search.

The subjects are made up deterministically and streamed from a generator, never held in a
list, so a million of them cost the harness no memory either:

- most are persons whose given and family names are drawn separately from a state's
  synthetic name pools (so names rarely repeat, as on a real list, and the broker's
  normalization caches are not flattered) with a random date of birth: NO_HIT nearly
  everywhere;
- every `HIT_EVERY`-th is a person one of the nodes holds (drawn from the same synthetic
  data the nodes were seeded with): a HIT;
- every `BAD_EVERY`-th has a malformed date of birth: that subject's own error.

Figures: subjects per second through Screen (target >= 20,000), the same subjects searched
one by one with Search at saturation before and after the screening (A B A, the ratio is
batch / one-by-one), the CPU each side spent per subject, and over a separate run of a
million subjects the broker's resident memory at the start and the end (VmRSS and VmHWM
from /proc/<pid>/status): a bounded pipeline keeps the peak flat however long the list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from benchmarks import cluster, profiling
from benchmarks.scenarios import Bench, Figure
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2

TARGET_SUBJECTS_PER_SECOND = 20_000
HIT_EVERY = 100
BAD_EVERY = 1000
POOL_PERSONS = 3000
POOL_SEED = 99
SEARCH_CONCURRENCY = 16
LIGHT_SUBJECTS = 100_000
# Subjects per request message (ScreenSubjects) and grouped results, as `selec screen`
# sends them; a shorter run with one subject per message each way shows what that costs.
SUBJECTS_PER_MESSAGE = 100
SINGLE_SUBJECTS = 20_000
RSS_SAMPLES = 20
# A bounded pipeline's peak memory stops growing once it is full: the peak at the end of
# the million-subject run may exceed the peak after its first tenth by this factor at most.
RSS_GROWTH_TARGET = 1.10
MAX_RESULT_BYTES = 64 * 1024 * 1024
_FIRST_DAY = dt.date(1940, 1, 1).toordinal()
_LAST_DAY = dt.date(2005, 12, 31).toordinal()


class Subjects:
    """Deterministic subjects (see the module doc), as ScreenSubject messages."""

    def __init__(self, persons: int) -> None:
        from connectors.synthetic import COUNTRIES, generate

        self.countries = COUNTRIES
        self._given: dict[str, list[str]] = {}
        self._family: dict[str, list[str]] = {}
        self._held: dict[str, list[dict[str, Any]]] = {}
        for country in COUNTRIES:
            pool = [
                p
                for p in generate(country, persons=POOL_PERSONS, seed=POOL_SEED)
                if p["kind"] == "person"
            ]
            self._given[country] = sorted({p["given"] for p in pool})
            self._family[country] = sorted({p["family"] for p in pool})
            held = (
                p
                for p in generate(country, persons=persons, seed=cluster.SEED)
                if p["kind"] == "person" and p.get("dob")
            )
            self._held[country] = [p for _, p in zip(range(500), held, strict=False)]

    def __call__(self, count: int, seed: int = 1) -> Iterator[broker_pb2.ScreenSubject]:
        """`count` subjects, ids S0000000, S0000001, ... (the same sequence for a seed)."""
        rng = random.Random(seed)
        countries = self.countries
        for index in range(count):
            country = countries[index % len(countries)]
            if index % HIT_EVERY == HIT_EVERY - 1:
                held = self._held[country]
                person = held[(index // HIT_EVERY) % len(held)]
                given, family, dob = person["given"], person["family"], person["dob"]
            else:
                given = rng.choice(self._given[country])
                family = rng.choice(self._family[country])
                dob = dt.date.fromordinal(rng.randint(_FIRST_DAY, _LAST_DAY)).isoformat()
                if index % BAD_EVERY == BAD_EVERY // 2:
                    dob = dob[8:10] + "." + dob[5:7] + "." + dob[:4]
            yield broker_pb2.ScreenSubject(
                subject_id=f"S{index:07d}",
                criteria=common_pb2.Criteria(
                    person=common_pb2.PersonCriteria(
                        given_names=given, family_names=family, date_of_birth=dob
                    )
                ),
            )


def documents(count: int) -> Iterator[broker_pb2.ScreenSubject]:
    """Subjects with a document number only (two keys each, with the issuer): what the
    pipeline costs without the person keys' expense; every 100th is the demo passport."""
    for index in range(count):
        number = "012345678" if index % HIT_EVERY == HIT_EVERY - 1 else f"X{index:08d}"
        yield broker_pb2.ScreenSubject(
            subject_id=f"S{index:07d}",
            criteria=common_pb2.Criteria(
                document=common_pb2.DocumentCriteria(number=number, issuing_country="RS")
            ),
        )


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process in KiB, from /proc; psutil-free."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


@dataclass
class ScreenRun:
    """One screening as the client saw it."""

    subjects: int
    results: int = 0
    with_hits: int = 0
    with_errors: int = 0
    in_order: bool = True
    seconds: float = math.nan
    summary: dict[str, str] = field(default_factory=dict)
    rss: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def rate(self) -> float:
        """Subjects per second, from the first message sent to the summary."""
        return self.results / self.seconds if self.seconds and self.results else 0.0

    def as_dict(self) -> dict[str, object]:
        """For the JSON report."""
        return {
            "subjects": self.subjects,
            "results": self.results,
            "with_hits": self.with_hits,
            "with_errors": self.with_errors,
            "in_order": self.in_order,
            "seconds": round(self.seconds, 2),
            "subjects_per_second": round(self.rate, 1),
            "summary": self.summary,
            "rss_kib": [[n, sample] for n, sample in self.rss],
            "cpu_seconds": {k: round(v, 2) for k, v in self.cpu.items()},
            "error": self.error,
        }


async def screen(
    address: str,
    subjects: Iterator[broker_pb2.ScreenSubject],
    count: int,
    watch_pid: int | None = None,
    per_message: int = SUBJECTS_PER_MESSAGE,
) -> ScreenRun:
    """Stream subjects through Screen; count results, check their order, sample RSS.

    `per_message` subjects per request message and results grouped (as `selec screen`
    does), or with 1 one subject per message each way (the original form).
    """
    run = ScreenRun(count)
    every = max(1, count // RSS_SAMPLES)
    channel = grpc.aio.insecure_channel(
        address, options=[("grpc.max_receive_message_length", MAX_RESULT_BYTES)]
    )
    stub = broker_pb2_grpc.BrokerServiceStub(channel)

    async def requests() -> AsyncIterator[broker_pb2.ScreenRequest]:
        yield broker_pb2.ScreenRequest(
            header=broker_pb2.ScreenHeader(
                purpose="benchmark", legal_basis="benchmark", grouped_results=per_message > 1
            )
        )
        if per_message == 1:
            for subject in subjects:
                yield broker_pb2.ScreenRequest(subject=subject)
            return
        while group := list(itertools.islice(subjects, per_message)):
            yield broker_pb2.ScreenRequest(subjects=broker_pb2.ScreenSubjects(subjects=group))

    if watch_pid is not None:
        run.rss.append((0, rss_kib(watch_pid)))
    started = time.perf_counter()
    try:
        async for event in stub.Screen(requests()):
            if not event.HasField("summary"):
                results = event.results.results if event.HasField("results") else [event.subject]
                for result in results:
                    if result.subject_id != f"S{run.results:07d}":
                        run.in_order = False
                    run.results += 1
                    run.with_hits += bool(result.hits)
                    run.with_errors += bool(result.error)
                    if watch_pid is not None and run.results % every == 0:
                        run.rss.append((run.results, rss_kib(watch_pid)))
            else:
                run.summary = {
                    r.country: broker_pb2.CountryStatus.Name(r.status)[15:]
                    for r in event.summary.results
                }
    except grpc.aio.AioRpcError as exc:
        run.error = f"{exc.code().name}: {exc.details()}"
    finally:
        run.seconds = time.perf_counter() - started
        await channel.close()
    if watch_pid is not None:
        run.rss.append((run.results, rss_kib(watch_pid)))
    return run


async def search_one_by_one(
    address: str, subjects: Iterator[broker_pb2.ScreenSubject], duration: float
) -> tuple[int, float]:
    """The same subjects through Search, SEARCH_CONCURRENCY at a time; (searches, seconds)."""
    channel = grpc.aio.insecure_channel(address)
    stub = broker_pb2_grpc.BrokerServiceStub(channel)
    done = 0
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            subject = next(subjects, None)
            if subject is None:
                return
            request = broker_pb2.SearchRequest(
                criteria=subject.criteria, purpose="benchmark", legal_basis="benchmark"
            )
            try:
                async for _ in stub.Search(request, timeout=10):
                    pass
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:  # the bad subjects
                    raise
            done += 1

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker() for _ in range(SEARCH_CONCURRENCY)))
    finally:
        await channel.close()
    return done, time.monotonic() - started


@dataclass
class Measured:
    """Everything scenario 5 measured, for the figures."""

    main: ScreenRun
    searched: list[tuple[int, float, dict[str, float]]]
    single: ScreenRun | None = None
    light: ScreenRun | None = None
    million: ScreenRun | None = None
    profile: dict[str, Any] = field(default_factory=dict)


def screening(bench: Bench) -> None:
    """Screen N subjects (A B A against one-by-one Search), then a million for memory."""
    bench.set_nodes()
    config = cluster.federation_config(bench.nodes)
    server = cluster.start_server("s5-broker", "broker", config, bench.work_dir)
    try:
        measured = _measure(bench, server.address, server.worker_pids[0])
    finally:
        server.stop()
    _report(bench, measured)


def _measure(bench: Bench, address: str, broker_pid: int) -> Measured:
    options = bench.options
    groups = {"broker": [broker_pid], "nodes": bench.node_pids}
    subjects = Subjects(options.persons)
    warm = asyncio.run(screen(address, subjects(2000, seed=7), 2000))
    if warm.error:
        raise RuntimeError(f"warm-up screening failed: {warm.error}")
    searched = []
    main: ScreenRun | None = None
    profile: dict[str, Any] = {}
    for step in ("search", "screen", "search"):
        if step == "search":
            with cluster.cpu_meter(groups) as cpu:
                count, seconds = asyncio.run(
                    search_one_by_one(address, subjects(10**9, seed=2), options.duration * 2)
                )
            searched.append((count, seconds, dict(cpu)))
            bench.say(f"    one-by-one search: {count / seconds:7.1f} subjects/s")
            continue
        recorders = _start_profiles(bench, broker_pid)
        with cluster.cpu_meter(groups) as cpu:
            main = asyncio.run(
                screen(address, subjects(options.screen_subjects), options.screen_subjects)
            )
        main.cpu = dict(cpu)
        bench.say(
            f"    screening: {main.results} subjects in {main.seconds:.1f} s, "
            f"{main.rate:,.0f}/s{' ERROR ' + main.error if main.error else ''}"
        )
        profile = _read_profiles(bench, recorders)
    assert main is not None
    count = min(options.screen_subjects, SINGLE_SUBJECTS)
    with cluster.cpu_meter(groups) as cpu:
        single = asyncio.run(screen(address, subjects(count, seed=4), count, per_message=1))
    single.cpu = dict(cpu)
    bench.say(f"    one subject per message: {single.rate:,.0f}/s")
    count = min(options.screen_subjects, LIGHT_SUBJECTS)
    with cluster.cpu_meter(groups) as cpu:
        light = asyncio.run(screen(address, documents(count), count))
    light.cpu = dict(cpu)
    bench.say(f"    document-number subjects: {light.rate:,.0f}/s")
    measured = Measured(main, searched, single, light, profile=profile)
    if options.screen_million:
        with cluster.cpu_meter(groups) as cpu:
            million = asyncio.run(
                screen(
                    address,
                    subjects(options.screen_million, seed=3),
                    options.screen_million,
                    watch_pid=broker_pid,
                )
            )
        million.cpu = dict(cpu)
        bench.say(
            f"    {million.results} subjects in {million.seconds:.0f} s ({million.rate:,.0f}/s)"
        )
        measured.million = million
    return measured


def _per_subject(run: ScreenRun, group: str) -> float:
    return 1000 * run.cpu.get(group, math.nan) / max(1, run.results)


def _report(bench: Bench, measured: Measured) -> None:
    main, searched = measured.main, measured.searched
    search_rate = sum(c for c, _, _ in searched) / sum(s for _, s, _ in searched)
    note = f"{main.results} subjects" + (f"; stream failed: {main.error}" if main.error else "")
    bench.add(
        Figure(
            "5",
            "screening throughput (11 nodes, one stream)",
            main.rate,
            "subjects/s",
            TARGET_SUBJECTS_PER_SECOND,
            ">=",
            note=note,
        )
    )
    bench.add(
        Figure(
            "5",
            "batch / one-by-one search throughput",
            main.rate / search_rate if search_rate else math.nan,
            "x",
            note=f"Search at c={SEARCH_CONCURRENCY}: {search_rate:.1f} subjects/s",
        )
    )
    searches = max(1, sum(c for c, _, _ in searched))
    for group in ("broker", "nodes"):
        per_search = 1000 * sum(cpu.get(group, 0.0) for _, _, cpu in searched) / searches
        bench.add(
            Figure(
                "5",
                f"{group} CPU per subject: screening",
                _per_subject(main, group),
                "ms",
                note=f"one-by-one search: {per_search:.2f} ms",
            )
        )
    broker_ms = _per_subject(main, "broker")
    bench.add(
        Figure(
            "5",
            "broker-bound rate (1 / broker CPU per subject)",
            1000 / broker_ms if broker_ms else math.nan,
            "subjects/s",
            note="what one broker core sustains where the nodes have machines of their own",
        )
    )
    bench.add(Figure("5", "results in input order", 100.0 if main.in_order else 0.0, "%"))
    details: dict[str, Any] = {
        "hit_every": HIT_EVERY,
        "bad_every": BAD_EVERY,
        "main": main.as_dict(),
        "search": [
            {"searches": c, "seconds": round(s, 2), "cpu_seconds": cpu} for c, s, cpu in searched
        ],
        "profile": measured.profile,
    }
    if measured.single is not None:
        single = measured.single
        bench.add(
            Figure(
                "5",
                "throughput, one subject per message each way",
                single.rate,
                "subjects/s",
                note=f"broker {_per_subject(single, 'broker'):.3f} ms, nodes "
                f"{_per_subject(single, 'nodes'):.3f} ms CPU per subject",
            )
        )
        details["single"] = single.as_dict()
    if measured.light is not None:
        light = measured.light
        bench.add(
            Figure(
                "5",
                "throughput, document-number subjects (2 keys each)",
                light.rate,
                "subjects/s",
                note=f"broker {_per_subject(light, 'broker'):.3f} ms, nodes "
                f"{_per_subject(light, 'nodes'):.3f} ms CPU per subject",
            )
        )
        details["documents"] = light.as_dict()
    if measured.million is not None:
        _report_memory(bench, measured.million)
        details["million"] = measured.million.as_dict()
    bench.details["5"] = details


def _report_memory(bench: Bench, million: ScreenRun) -> None:
    start, end = million.rss[0][1], million.rss[-1][1]
    tenth = next((s for n, s in million.rss if n >= million.subjects // 10), end)
    bench.add(
        Figure(
            "5",
            "broker peak RSS at end / after first tenth (1M run)",
            end["VmHWM"] / tenth["VmHWM"],
            "x",
            RSS_GROWTH_TARGET,
            "<=",
            note=(
                f"VmHWM start {start['VmHWM'] / 1024:.0f} MiB, tenth "
                f"{tenth['VmHWM'] / 1024:.0f} MiB, end {end['VmHWM'] / 1024:.0f} MiB"
                + (f"; stream failed: {million.error}" if million.error else "")
            ),
        )
    )
    bench.add(Figure("5", "broker RSS at start of the 1M run", start["VmRSS"] / 1024, "MiB"))
    bench.add(Figure("5", "broker RSS at end of the 1M run", end["VmRSS"] / 1024, "MiB"))
    bench.add(Figure("5", "broker peak RSS (VmHWM) at start", start["VmHWM"] / 1024, "MiB"))
    bench.add(Figure("5", "broker peak RSS (VmHWM) at end", end["VmHWM"] / 1024, "MiB"))
    bench.add(Figure("5", "1M run throughput", million.rate, "subjects/s"))


def _start_profiles(bench: Bench, broker_pid: int) -> dict[str, tuple[int, Path, Any]]:
    """py-spy on the broker and one node while the screening runs (when profiling is on)."""
    if not (bench.options.profile and bench.py_spy):
        return {}
    seconds = bench.options.profile_seconds
    targets = {"broker": broker_pid, "node": bench.nodes["RS"].pid}
    started = {}
    for name, pid in targets.items():
        raw = bench.work_dir / f"profile-screening-{name}.txt"
        started[name] = (pid, raw, profiling.start_recording(bench.py_spy, pid, seconds, raw))
    return started


def _read_profiles(bench: Bench, recorders: dict[str, tuple[int, Path, Any]]) -> dict[str, Any]:
    """Fold and print the py-spy samples taken during the screening."""
    found: dict[str, Any] = {}
    for name, (pid, raw, recorder) in recorders.items():
        try:
            _, errors = recorder.communicate(timeout=bench.options.profile_seconds + 30)
        except Exception:
            recorder.kill()
            recorder.communicate()
            errors = "py-spy did not finish"
        if recorder.returncode != 0 or not raw.exists():
            bench.say(f"    profile of the {name} failed: {errors.strip()[-300:]}")
            continue
        folded = profiling.read_profile(raw, cluster.REPO)
        found[name] = folded.as_dict()
        bench.say(f"    profile of the {name} (pid {pid}) during the screening:")
        for line in folded.lines(top=14):
            bench.say(f"      {line}")
    return found
