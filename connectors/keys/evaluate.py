"""Measure the person-key scheme on the development set of cross-script name variants.

Run ``python -m connectors.keys.evaluate [PATH]``. For every line of the JSONL file, record
keys are computed from ``record`` and query keys from each probe; a probe *hits* when its keys
share a digest with its own record's keys. Prints recall over ``expect: hit`` probes and the
false-hit rate over ``expect: no-hit`` probes, overall and by probe kind, plus cross-record
collisions (probes that hit *another* person's record: not scored, because the set contains
common names and namesakes, but worth watching) and the number of record keys per person.

The secret is random per run: the figures do not depend on it (up to 128-bit collisions).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from connectors.keys.normalize import clear_caches
from connectors.keys.scheme import KeyScheme, Strength, match_strength

__all__ = [
    "DEFAULT_PATH",
    "Benchmark",
    "KindFigures",
    "Report",
    "benchmark",
    "evaluate",
    "format_report",
    "main",
]

#: ``shared/data/names-dev.jsonl`` next to the repository checkout.
DEFAULT_PATH = Path(__file__).resolve().parents[2].parent / "shared/data/names-dev.jsonl"


@dataclass
class KindFigures:
    """Counts for one probe kind (or overall) and one expectation."""

    expect: str
    total: int = 0
    hits: int = 0
    by_strength: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Share of probes that hit: recall for ``hit``, false-hit rate for ``no-hit``."""
        return self.hits / self.total if self.total else 0.0


@dataclass
class Report:
    """Figures over one development set."""

    persons: int = 0
    recall: float = 0.0
    false_hit_rate: float = 0.0
    hit_probes: int = 0
    no_hit_probes: int = 0
    by_kind: dict[tuple[str, str], KindFigures] = field(default_factory=dict)
    #: the same split further by whether the probe carries a date of birth
    by_kind_dob: dict[tuple[str, str, bool], KindFigures] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    false_hits: list[str] = field(default_factory=list)
    cross_record_probe_hits: Counter[str] = field(default_factory=Counter)
    cross_record_pairs: int = 0
    record_keys_total: int = 0
    record_keys_max: int = 0

    @property
    def keys_per_person(self) -> float:
        """Average number of record keys (database rows) per person."""
        return self.record_keys_total / self.persons if self.persons else 0.0


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def evaluate(path: Path | str = DEFAULT_PATH, scheme: KeyScheme | None = None) -> Report:
    """Evaluate ``scheme`` (default: a fresh random secret) over the JSONL file at ``path``.

    Raises ``FileNotFoundError`` with the path when the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"development set not found: {path}")
    scheme = scheme or KeyScheme(os.urandom(32))
    report = Report()
    entries = []
    owners: defaultdict[str, set[int]] = defaultdict(set)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            entry = json.loads(line)
            rec = entry["record"]
            keys = scheme.person_record_keys(rec["given"], rec["family"], _date(rec.get("dob")))
            idx = len(entries)
            entries.append((entry, keys))
            for k in keys:
                owners[k.digest].add(idx)
            report.record_keys_total += len(keys)
            report.record_keys_max = max(report.record_keys_max, len(keys))
    report.persons = len(entries)

    pairs: set[tuple[int, int]] = set()
    for holders in owners.values():
        if len(holders) > 1:
            ordered = sorted(holders)
            pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    report.cross_record_pairs = len(pairs)

    overall = {"hit": KindFigures("hit"), "no-hit": KindFigures("no-hit")}
    for idx, (entry, rec_keys) in enumerate(entries):
        rec = entry["record"]
        for probe in entry["probes"]:
            expect = probe["expect"]
            kind = probe["kind"]
            qkeys = scheme.person_query_keys(probe["given"], probe["family"], _date(probe["dob"]))
            strength = match_strength(qkeys, rec_keys)
            fig = report.by_kind.setdefault((kind, expect), KindFigures(expect))
            has_dob = bool(probe["dob"])
            fig_dob = report.by_kind_dob.setdefault((kind, expect, has_dob), KindFigures(expect))
            for f in (fig, fig_dob, overall[expect]):
                f.total += 1
                if strength is not None:
                    f.hits += 1
                    f.by_strength[Strength(strength).name] += 1
            desc = (
                f"{entry['pid']} {kind}: {rec['given']} {rec['family']} {rec.get('dob')} "
                f"<- {probe['given']} {probe['family']} {probe['dob']}"
            )
            if expect == "hit" and strength is None:
                report.misses.append(desc)
            if expect == "no-hit" and strength is not None:
                report.false_hits.append(f"{desc} [{Strength(strength).name}]")
            others = {o for k in qkeys for o in owners.get(k.digest, ()) if o != idx}
            if others:
                report.cross_record_probe_hits[expect] += 1
    report.hit_probes = overall["hit"].total
    report.no_hit_probes = overall["no-hit"].total
    report.recall = overall["hit"].rate
    report.false_hit_rate = overall["no-hit"].rate
    return report


@dataclass
class Benchmark:
    """Timing of :meth:`KeyScheme.person_record_keys` over synthetic persons."""

    persons: int
    ms_per_person: float
    keys_per_person: float


def benchmark(path: Path | str = DEFAULT_PATH, persons: int = 10_000) -> Benchmark:
    """Time record keys for ``persons`` realistic persons, caches cold at the start.

    Given and family names are recombined across the development set's records (so scripts,
    lengths and repetition resemble a register, where given names repeat a lot), with spread
    dates of birth.
    """
    rows = [json.loads(line)["record"] for line in Path(path).read_text("utf-8").splitlines()]
    people = [
        (
            rows[i % len(rows)]["given"],
            rows[(i * 7 + 3) % len(rows)]["family"],
            datetime.date(1940, 1, 1) + datetime.timedelta(days=(i * 37) % 25_000),
        )
        for i in range(persons)
    ]
    scheme = KeyScheme(os.urandom(32))
    clear_caches()
    start = time.perf_counter()
    total = sum(len(scheme.person_record_keys(g, f, d)) for g, f, d in people)
    elapsed = time.perf_counter() - start
    return Benchmark(persons, elapsed / persons * 1000, total / persons)


def format_report(report: Report, verbose: bool = False) -> str:
    """Human-readable table of a :class:`Report`."""
    lines = [
        f"persons {report.persons}; record keys per person: "
        f"{report.keys_per_person:.1f} average, {report.record_keys_max} max",
        f"recall          {report.recall:.4f}  ({report.hit_probes} hit probes)",
        f"false-hit rate  {report.false_hit_rate:.4f}  ({report.no_hit_probes} no-hit probes)",
        "",
        f"{'kind':<16}{'expect':<8}{'n':>5}{'hits':>6}{'rate':>8}  strengths",
    ]
    for (kind, expect), fig in sorted(report.by_kind.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        strengths = ", ".join(f"{k}={v}" for k, v in sorted(fig.by_strength.items()))
        label = "recall" if expect == "hit" else "false"
        lines.append(
            f"{kind:<16}{expect:<8}{fig.total:>5}{fig.hits:>6}{fig.rate:>8.3f}  "
            f"{label}; {strengths}"
        )
        split = [report.by_kind_dob.get((kind, expect, d)) for d in (True, False)]
        if all(split):
            for has_dob, sub in zip((True, False), split, strict=True):
                assert sub is not None
                tag = "  with dob" if has_dob else "  no dob"
                lines.append(f"{tag:<24}{sub.total:>5}{sub.hits:>6}{sub.rate:>8.3f}")
    probe_hits = report.cross_record_probe_hits
    lines += [
        "",
        "cross-record collisions (not scored): probes whose keys hit another person's record: "
        f"hit probes {probe_hits['hit']}, no-hit probes {probe_hits['no-hit']}; "
        f"record pairs sharing any key: {report.cross_record_pairs}",
    ]
    if verbose:
        lines += ["", "misses:", *report.misses, "", "false hits:", *report.false_hits]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exit status 1 when the file is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="names-dev.jsonl")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses/false hits")
    parser.add_argument(
        "--bench", action="store_true", help="also time record keys for 10,000 persons"
    )
    args = parser.parse_args(argv)
    try:
        report = evaluate(args.path)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(format_report(report, verbose=args.verbose))
    if args.bench:
        bench = benchmark(args.path)
        print(
            f"\nperson_record_keys: {bench.ms_per_person:.3f} ms/person over {bench.persons} "
            f"persons, {bench.keys_per_person:.1f} keys/person"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
