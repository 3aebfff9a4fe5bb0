"""Soak the demo federation: steady mixed load with node restarts, then check everything.

`make soak ARGS="--minutes 10"`, or `.venv/bin/python -m benchmarks.soak --minutes 10`.
Starts `selec demo` (its own data dir, the demo's ports unless told otherwise), drives
searches, requests, decisions, reveals and withdrawals at a fixed rate, restarts a random
node every --restart-every seconds (SIGTERM, sometimes SIGKILL), imports a few new records
into a node and publishes it every --publish-every seconds, samples every process's memory,
and at the end checks: no error beyond the injected and deliberate ones, memory flat, every
call's audit event present and the chain intact, every request in the state the load drove
it to, every node back in service. Exit 0 only when all of that holds. docs/soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/soak.py` as well as `-m benchmarks.soak`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc

from benchmarks import soak_checks as checks
from benchmarks.soak_federation import DemoFederation, FederationError, Restart, start_demo
from benchmarks.soak_load import (
    Load,
    Subject,
    issue_tokens,
    new_records,
    person_criteria,
    seeded_subjects,
    soak_people,
)
from benchmarks.soak_memory import GROWTH_MIB, GROWTH_SHARE, MemoryWatch
from selec.cli.demo import DEFAULT_SEED
from selec.v1 import broker_pb2, broker_pb2_grpc

DEFAULT_DATA_DIR = Path("var") / "soak"
SETTLE_LIMIT_SECONDS = 300.0
SETTLE_QUIET_SECONDS = 6.0  # no publication finished for this long (nodes wait 3 s)
IMPORT_BATCH = 3


def build_parser() -> argparse.ArgumentParser:
    """The command line; defaults are the issue's 10-minute soak on the demo's ports."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="load duration (default 10)")
    parser.add_argument(
        "--persons", type=int, default=2000, help="synthetic persons per state (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="synthetic data seed")
    parser.add_argument(
        "--restart-every", type=float, default=60.0, help="seconds between node restarts (60)"
    )
    parser.add_argument(
        "--kill-share", type=float, default=0.33, help="share of restarts by SIGKILL (0.33)"
    )
    parser.add_argument("--rate", type=float, default=4.0, help="actions per second (4)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument(
        "--publish-every", type=float, default=120.0, help="seconds between imports+publishes"
    )
    parser.add_argument(
        "--warmup", type=float, help="seconds before memory baselines (default 10%%, at most 60)"
    )
    parser.add_argument(
        "--sample-every", type=float, help="seconds between memory samples (default 30, or less)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="var/soak")
    parser.add_argument("--fresh", action="store_true", help="delete the data dir first")
    parser.add_argument("--broker-listen", help="HOST:PORT for the broker (demo default)")
    parser.add_argument("--node-port-base", type=int, help="nodes on base+1 .. base+11")
    parser.add_argument("--rng-seed", type=int, help="seed of the load's choices")
    parser.add_argument("--json", type=Path, help="write the report here as JSON")
    return parser


def load_average() -> str:
    """/proc/loadavg's three figures (what `uptime` shows)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Soak:
    """One soak run over a started demo federation."""

    def __init__(self, options: argparse.Namespace, federation: DemoFederation) -> None:
        self.options = options
        self.fed = federation
        self.rng_seed = (
            options.rng_seed if options.rng_seed is not None else random.randrange(2**31)
        )
        self.rng = random.Random(self.rng_seed)
        self.run_id = secrets.token_hex(3)
        self.people = soak_people(self.run_id)
        self.seconds = options.minutes * 60
        self.warmup = options.warmup if options.warmup is not None else min(60.0, self.seconds / 10)
        self.sample_every = options.sample_every or max(2.0, min(30.0, self.seconds / 10))
        self.restarts: list[Restart] = []
        self.memory = MemoryWatch()
        self.verdicts = checks.Verdicts()
        self.forced = Counter[str]()
        self.stopping = asyncio.Event()
        self.origin = time.monotonic()  # reset when the load starts

    async def run(self) -> dict[str, Any]:
        """Load, inject, sample; then check. The report, as a dict."""
        options = self.options
        pki = self.fed.data_dir / "pki"
        tokens = issue_tokens(pki, self.people, dt.timedelta(minutes=options.minutes + 120))
        subjects = seeded_subjects(sorted(self.fed.nodes), options.persons, options.seed)
        ca = (pki / "ca.pem").read_bytes()
        load = Load(
            self.fed.broker,
            ca,
            tokens,
            self.people,
            subjects,
            clients=options.clients,
            rng=random.Random(self.rng.random()),
        )
        channel = grpc.aio.secure_channel(
            self.fed.broker, grpc.ssl_channel_credentials(root_certificates=ca)
        )
        async with channel:
            settled = await self._settle(channel, tokens[self.people.admin])
        say(f"start-up publications in after {settled:.0f} s; load starts")
        publishes_before = checks.publish_counts(self.fed.broker_metrics)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        load_avg_start = load_average()
        self.origin = self.verdicts.origin = time.monotonic()
        self._sample()
        helpers = [
            asyncio.create_task(self._restarter(load)),
            asyncio.create_task(self._publisher(load)),
            asyncio.create_task(self._sampler()),
        ]
        try:
            await load.run(self.seconds, options.rate)
        finally:
            self.stopping.set()
            await asyncio.gather(*helpers, return_exceptions=False)
        load_end = time.monotonic()
        self._sample()
        load_avg_end = load_average()
        say(f"load done after {load_end - self.origin:.0f} s; checking ...")
        channel = grpc.aio.secure_channel(
            self.fed.broker, grpc.ssl_channel_credentials(root_certificates=ca)
        )
        async with channel:
            report = await self._check(load, channel, tokens, since, load_end)
        publishes_after = checks.publish_counts(self.fed.broker_metrics)
        report["publishes"] = {
            "broker_accepted_during_run": dict(publishes_after - publishes_before),
            "forced_by_soak": dict(self.forced),
        }
        report["load_average"] = {"start": load_avg_start, "end": load_avg_end}
        report["run"] = {"id": self.run_id, "rng_seed": self.rng_seed}
        return report

    async def _settle(self, channel: grpc.aio.Channel, token: str) -> float:
        """Wait until the nodes' start-up publications are in (each node publishes a few
        seconds after it starts, when its data changed or a publication is due): the soak
        measures the steady state, not eleven publications arriving at once."""
        started = time.monotonic()
        stub = broker_pb2_grpc.BrokerServiceStub(channel)
        metadata = (("authorization", f"Bearer {token}"),)
        last, stable_since = -1, started
        while time.monotonic() - started < SETTLE_LIMIT_SECONDS:
            counts = await asyncio.to_thread(checks.publish_counts, self.fed.broker_metrics)
            reply = await stub.GetStatus(
                broker_pb2.GetStatusRequest(), timeout=30, metadata=metadata
            )
            published = all(node.published_references > 0 for node in reply.nodes)
            now = time.monotonic()
            if sum(counts.values()) != last:
                last, stable_since = sum(counts.values()), now
            elif published and now - stable_since >= SETTLE_QUIET_SECONDS:
                break
            await asyncio.sleep(1)
        return time.monotonic() - started

    def _sample(self) -> None:
        processes = {"broker": (self.fed.broker_pid, self.origin)}
        for country, life in self.fed.nodes.items():
            processes[f"node {country}"] = (life.pid, life.started_at)
        self.memory.sample(time.monotonic(), processes)

    async def _pause(self, seconds: float) -> bool:
        """Sleep; False as soon as the load is over."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _sampler(self) -> None:
        while await self._pause(self.sample_every):
            self._sample()

    async def _restarter(self, load: Load) -> None:
        every = self.options.restart_every
        for due in itertools.count(1):
            if not await self._pause(max(0.0, self.origin + due * every - time.monotonic())):
                return
            if self.origin + self.seconds - time.monotonic() < min(15.0, every / 2):
                continue  # too close to the end to see it come back
            country = self.rng.choice(sorted(self.fed.nodes))
            hard = self.rng.random() < self.options.kill_share
            try:
                restart = await self.fed.restart_node(country, hard, load.while_down)
            except (FederationError, OSError, TimeoutError) as exc:
                self.verdicts.fail("node restart failed", str(exc))
                continue
            self.restarts.append(restart)
            say(
                f"  restarted {country} ({'SIGKILL' if hard else 'SIGTERM'}): down "
                f"{restart.ready_at - restart.stopped_at:.1f} s, pid {restart.new_pid}"
            )
            self._sample()

    async def _publisher(self, load: Load) -> None:
        """Import a few new persons into a node, then `selec publish` it: the records are
        searchable at once, and in the index after the publication."""
        batch = 0
        while await self._pause(self.options.publish_every):
            country = self.rng.choice(sorted(self.fed.nodes))
            records = new_records(
                country,
                persons=self.options.persons,
                seed=self.options.seed,
                run_id=self.run_id,
                batch=batch,
                size=IMPORT_BATCH,
            )
            batch += 1
            path = self.fed.data_dir / f"soak-import-{self.run_id}-{batch}.jsonl"
            path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                encoding="utf-8",
            )
            common = ["--country", country, "--data-dir", str(self.fed.data_dir)]
            imported = await self._selec("import", *common, str(path))
            path.unlink()
            self.forced["import ok" if imported else "import FAILED"] += 1
            if not imported:
                self.verdicts.fail("selec import failed", country)
                continue
            imported_at = time.time()
            load.add_subjects(
                [
                    Subject(
                        country, f"{country} imported {r['id']}", person_criteria(r), imported_at
                    )
                    for r in records
                    if r.get("dob")
                ]
            )
            published = await self._selec("publish", *common, "--broker", self.fed.broker)
            self.forced["publish ok" if published else "publish FAILED"] += 1
            if not published:
                self.verdicts.fail("selec publish failed", country)

    async def _selec(self, *args: str) -> bool:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "selec.cli.main",
            *args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        if process.returncode != 0:
            say(f"  selec {args[0]} failed: {stderr.decode(errors='replace').strip()[:300]}")
        return process.returncode == 0

    async def _check(
        self,
        load: Load,
        channel: grpc.aio.Channel,
        tokens: dict[str, str],
        since: dt.datetime,
        load_end: float,
    ) -> dict[str, Any]:
        v = self.verdicts
        ledger = load.ledger
        for error in ledger.soak_errors:
            v.fail("soak error (a bug in the soak)", error.strip().splitlines()[-1])
        if not self.fed.broker_alive():
            v.fail("broker crashed", f"selec demo exited {self.fed.process.returncode}")
            return {"verdicts": v}
        windows = checks.fault_windows(self.restarts, ledger.searches, load_end, v)
        checks.judge_searches(ledger.searches, windows, v)
        checks.judge_workflow(ledger, windows, v)
        audit: dict[str, object] = {}
        probe = checks.Verdicts()
        for _ in range(5):  # searches are audited off the hot path: give the writer a moment
            await asyncio.sleep(2)
            events = await checks.audit_events(
                channel, tokens[self.people.auditor], since, self.people
            )
            probe = checks.Verdicts()
            audit = checks.judge_audit(events, ledger, probe)
            if not probe.unexpected:
                break
        for reason, count in probe.unexpected.items():
            v.unexpected[reason] += count
        v.examples.extend(probe.examples[: checks.EXAMPLES])
        chain = await checks.verify_chain(channel, tokens[self.people.auditor])
        if not chain["ok"]:
            v.fail("audit chain broken", str(chain["problem"]))
        states = await checks.request_states(channel, tokens, ledger, self.people, v)
        status = await checks.final_status(channel, tokens[self.people.admin], 60.0, v)
        elapsed = load_end - self.origin
        return {
            "calls": checks.calls_table(ledger.calls),
            "ticks": ledger.ticks,
            "behind": ledger.behind,
            "calls_per_second": round(len(ledger.calls) / elapsed, 2),
            "searches": len(ledger.searches),
            "restarts": [r.as_dict(self.origin) for r in self.restarts],
            "recoveries": v.recoveries,
            "memory": self.memory.report(self.origin + self.warmup, self.origin),
            "audit": {**audit, "chain": chain},
            "requests": {"made": len(ledger.requests), "states": states},
            "final_status": status,
            "verdicts": v,
        }


def say(line: str) -> None:
    """Progress, flushed (the Makefile target and the test read it as it comes)."""
    print(line, flush=True)


def _summary(report: dict[str, Any], options: argparse.Namespace) -> list[str]:
    v: checks.Verdicts = report["verdicts"]
    lines = [
        f"SELEC soak: {options.minutes:g} min at {options.rate:g} actions/s, {options.clients} "
        f"clients, {options.persons} persons/state, a restart every {options.restart_every:g} s",
        f"load average (1/5/15 min): start {report['load_average']['start']}, "
        f"end {report['load_average']['end']}",
        f"calls: {sum(sum(c.values()) for c in report['calls'].values())} "
        f"({report['calls_per_second']}/s); ticks offered {report['ticks']}, "
        f"{report['behind']} found every client busy",
    ]
    for kind, codes in report["calls"].items():
        shown = ", ".join(f"{code} {n}" for code, n in codes.items())
        lines.append(f"  {kind:<28} {shown}")
    restarts = report["restarts"]
    kills = sum(r["signal"] == "SIGKILL" for r in restarts)
    downs = [float(r["down_seconds"]) for r in restarts]
    recovered = [
        float(r["serving_to_live_answer_seconds"])
        for r in report["recoveries"]
        if r["serving_to_live_answer_seconds"] is not None
    ]
    lines.append(
        f"restarts: {len(restarts)} ({len(restarts) - kills} SIGTERM, {kills} SIGKILL)"
        + (
            f"; down {min(downs):.1f}-{max(downs):.1f} s; serving again -> first live answer "
            f"{min(recovered, default=0):.1f}-{max(recovered, default=0):.1f} s"
            if downs
            else ""
        )
    )
    for r, live in zip(restarts, report["recoveries"], strict=True):
        again = live["serving_to_live_answer_seconds"]
        lines.append(
            f"  t={r['at_seconds']:>6} s {r['country']} {r['signal']:<7} pid {r['old_pid']} -> "
            f"{r['new_pid']}, exited in {r['exit_seconds']} s, serving after {r['down_seconds']} "
            f"s, live answers again {'-' if again is None else again} s later"
        )
    publishes = report["publishes"]
    lines.append(
        f"publishes accepted by the broker: {publishes['broker_accepted_during_run']}; "
        f"soak imports/publishes: {publishes['forced_by_soak']}"
    )
    lines.append(
        f"errors: {sum(v.deliberate.values())} deliberate, {sum(v.injected.values())} "
        f"injected, {sum(v.unexpected.values())} unexpected"
    )
    for title, counter in (
        ("deliberate", v.deliberate),
        ("injected", v.injected),
        ("UNEXPECTED", v.unexpected),
    ):
        for reason, count in sorted(counter.items()):
            lines.append(f"  {title:<10} {count:>6}  {reason}")
    for example in v.examples:
        lines.append(f"    e.g. {example}")
    lines.append(
        f"memory (MiB; flat unless growth > {GROWTH_SHARE:.0%} and > {GROWTH_MIB:g} MiB "
        "after warm-up):"
    )
    lines.append(f"  {'process':<9} {'pid':>7} {'start':>7} {'end':>7} {'max':>7} {'growth':>7}")
    for row in report["memory"]:
        lines.append(
            f"  {row['process']:<9} {row['pid']:>7} {row.get('start_mib', '-'):>7} "
            f"{row.get('end_mib', '-'):>7} {row.get('max_mib', '-'):>7} "
            f"{row.get('growth_mib', '-'):>7}  {row['verdict']}"
        )
    broker = report["memory"][0]
    lines.append(
        "  broker over time (s: MiB): " + ", ".join(f"{t}: {mib}" for t, mib in broker["series"])
    )
    audit = report["audit"]
    chain = audit["chain"]
    lines.append(
        f"audit: {audit.get('events', 0)} events of this run, "
        f"{'matching every call' if not audit.get('mismatches') else 'NOT matching the calls'}; "
        f"chain {'intact' if chain['ok'] else 'BROKEN: ' + str(chain['problem'])} "
        f"({chain['checked']} events checked)"
    )
    by_kind = audit.get("by_kind", {})
    lines.append("  " + ", ".join(f"{k} {n}" for k, n in by_kind.items()))
    lines.append(
        f"requests: {report['requests']['made']} made; end states "
        f"{report['requests']['states']} (each as the load drove it)"
    )
    lines.append(
        "final status: "
        + ", ".join(f"{c} {s}" for c, s in report["final_status"].items() if s != "ok")
        if any(s != "ok" for s in report["final_status"].values())
        else "final status: every node reachable and in service"
    )
    return lines


def _flat(report: dict[str, Any]) -> bool:
    return all(row["verdict"] != "GROWING" for row in report.get("memory", []))


async def _main(options: argparse.Namespace) -> tuple[dict[str, Any], int | None]:
    federation = await start_demo(
        options.data_dir.resolve(),
        options.persons,
        broker_listen=options.broker_listen,
        node_port_base=options.node_port_base,
        say=say,
    )
    try:
        soak = Soak(options, federation)
        say(
            f"soak {soak.run_id}: {options.minutes:g} min, rate {options.rate:g}/s, "
            f"restart every {options.restart_every:g} s, memory warm-up {soak.warmup:g} s, "
            f"--rng-seed {soak.rng_seed}"
        )
        report = await soak.run()
    finally:
        demo_exit = await federation.stop()
    return report, demo_exit


def main(argv: list[str] | None = None) -> int:
    """Run the soak; 0 when every check holds, 1 otherwise, 2 when it could not start."""
    options = build_parser().parse_args(argv)
    if options.minutes <= 0 or options.rate <= 0 or options.clients < 1 or options.persons < 1:
        print("soak: --minutes, --rate, --clients and --persons must be positive", file=sys.stderr)
        return 2
    if options.fresh and options.data_dir.exists():
        shutil.rmtree(options.data_dir)
    say(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    try:
        report, demo_exit = asyncio.run(_main(options))
    except FederationError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    verdicts: checks.Verdicts = report["verdicts"]
    if demo_exit != 0:
        verdicts.fail("selec demo did not stop cleanly", f"exit status {demo_exit}")
    if "calls" not in report:  # the broker crashed: nothing more to say
        print(f"SOAK FAILED: {dict(verdicts.unexpected)} {verdicts.examples}")
        return 1
    passed = not verdicts.unexpected and _flat(report) and report["audit"]["chain"]["ok"]
    for line in _summary(report, options):
        say(line)
    report["result"] = "PASS" if passed else "FAIL"
    say(f"RESULT: {report['result']}")
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        serial = {
            **report,
            "options": {k: str(v) for k, v in vars(options).items()},
            "errors": {
                "deliberate": dict(verdicts.deliberate),
                "injected": dict(verdicts.injected),
                "unexpected": dict(verdicts.unexpected),
                "examples": verdicts.examples,
            },
            "demo_exit": demo_exit,
        }
        serial.pop("verdicts")
        options.json.write_text(json.dumps(serial, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
