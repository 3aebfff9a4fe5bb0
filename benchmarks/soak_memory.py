"""Resident memory of the federation's processes over a soak, and whether it stayed flat.

RSS (VmRSS in /proc/<pid>/status) is sampled for the broker and every node process at
regular times. A process's baseline is its first sample once it has warmed up (the run's
warm-up, or for a node restarted later, SETTLE_SECONDS after its start: caches, the
gRPC channel pools and the first publication all grow memory once, and that is not a leak).
Its growth is its last sample minus that baseline; memory is *not flat* when the growth is
both above GROWTH_SHARE of the baseline and above GROWTH_MIB. Either threshold alone is
too touchy: a 60 MiB node gaining 15 MiB of allocator slack is 25%, a 400 MiB process
gaining 35 MiB is noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

GROWTH_SHARE = 0.20
GROWTH_MIB = 30.0
SETTLE_SECONDS = 20.0


def rss_mib(pid: int) -> float | None:
    """The process's resident set in MiB; None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None  # a zombie has no VmRSS


@dataclass(slots=True)
class ProcessMemory:
    """The samples of one process life."""

    name: str
    pid: int
    started_at: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, MiB)

    def judged(self, warm_until: float, origin: float) -> dict[str, object]:
        """Start (baseline), end, max and growth; flat or not, or too short to judge; and
        every sample as (seconds since origin, MiB)."""
        settled = max(warm_until, self.started_at + SETTLE_SECONDS)
        after = [(t, mib) for t, mib in self.samples if t >= settled]
        row: dict[str, object] = {
            "process": self.name,
            "pid": self.pid,
            "series": [(round(t - origin), round(mib, 1)) for t, mib in self.samples],
        }
        if len(after) < 2:
            row.update(verdict="too short", samples=len(self.samples))
            if self.samples:
                row.update(
                    end_mib=round(self.samples[-1][1], 1),
                    max_mib=round(max(m for _, m in self.samples), 1),
                )
            return row
        start, end = after[0][1], after[-1][1]
        growth = end - start
        flat = not (growth > GROWTH_SHARE * start and growth > GROWTH_MIB)
        row.update(
            start_mib=round(start, 1),
            end_mib=round(end, 1),
            max_mib=round(max(m for _, m in after), 1),
            growth_mib=round(growth, 1),
            growth_share=round(growth / start, 3) if start else 0.0,
            span_seconds=round(after[-1][0] - after[0][0], 1),
            samples=len(after),
            verdict="flat" if flat else "GROWING",
        )
        return row


@dataclass(slots=True)
class MemoryWatch:
    """Samples of every process life, keyed by pid (a restarted node is a new life)."""

    lives: dict[int, ProcessMemory] = field(default_factory=dict)

    def sample(self, now: float, processes: dict[str, tuple[int, float]]) -> None:
        """Sample each name -> (pid, started_at) now."""
        for name, (pid, started_at) in processes.items():
            mib = rss_mib(pid)
            if mib is None:
                continue
            life = self.lives.setdefault(pid, ProcessMemory(name, pid, started_at))
            life.samples.append((now, mib))

    def report(self, warm_until: float, origin: float) -> list[dict[str, object]]:
        """One row per process life, the broker first."""
        rows = [life.judged(warm_until, origin) for life in self.lives.values()]
        return sorted(rows, key=lambda r: (r["process"] != "broker", str(r["process"])))
