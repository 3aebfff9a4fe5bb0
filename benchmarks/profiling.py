"""Sampling a server under load with py-spy, and reading the samples into a short table.

py-spy attaches from outside (no change to the process, no restart) and, with
--nonblocking, never pauses it, so the profile is of the broker as it runs under the
scenario-2 load. It is optional: without py-spy the harness says so and goes on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def find_py_spy() -> str | None:
    """py-spy beside this interpreter (pip install py-spy), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_recording(py_spy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[str]:
    """Start `py-spy record` on pid for seconds; raw (collapsed) stacks go to out."""
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _frame_name(frame: str, root: Path) -> str:
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found["file"]
    for prefix in (str(root) + "/", "/root/.pyenv/versions/"):
        path = path.removeprefix(prefix)
    path = re.sub(r"^.*?/site-packages/", "", path)
    return f"{found['function']} ({path})"


# Frames every sample passes through (process start, the event loop turning): they say
# nothing about where the time goes, so the inclusive table leaves them out.
_SCAFFOLDING = (
    "<frozen runpy>",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "benchmarks/serve.py",
    "multiprocessing/",
    "<string>",
)


@dataclass
class Profile:
    """Samples folded by function: where the process spent its time."""

    samples: int
    own: list[tuple[str, float]]
    inclusive: list[tuple[str, float]]
    areas: list[tuple[str, float]]

    def as_dict(self) -> dict[str, object]:
        """For the JSON report: percentages of all samples."""
        return {
            "samples": self.samples,
            "self_percent": [[name, round(p, 1)] for name, p in self.own],
            "inclusive_percent": [[name, round(p, 1)] for name, p in self.inclusive],
            "self_percent_by_package": [[name, round(p, 1)] for name, p in self.areas],
        }

    def lines(self, top: int = 12) -> list[str]:
        """A printable top of the profile."""
        out = [f"{self.samples} samples; self time by package:"]
        out.append("  " + ", ".join(f"{name} {p:.0f}%" for name, p in self.areas[:8]))
        out.append("self time (the function itself):")
        out += [f"  {p:5.1f}%  {name}" for name, p in self.own[:top]]
        out.append("inclusive time (the function and what it calls), loop scaffolding left out:")
        out += [f"  {p:5.1f}%  {name}" for name, p in self.inclusive[:top]]
        return out


# A leaf frame whose work happens in compiled code below it gets a word on what that is.
_NATIVE_BELOW = {
    "Thread.run (threading.py)": "Thread.run (threading.py) [native target: gRPC aio poller]",
    "Handle._run (asyncio/events.py)": "Handle._run (asyncio/events.py) [Cython callbacks]",
    "UnaryUnaryCall._invoke (grpc/aio/_call.py)": (
        "UnaryUnaryCall._invoke (grpc/aio/_call.py) [gRPC client call, Cython]"
    ),
}


def _area(name: str) -> str:
    """The package a folded frame name belongs to: `grpc`, `asyncio`, `broker`, ..."""
    path = name.rpartition("(")[2].rstrip(")")
    if path.startswith("lib/python3"):
        path = path.split("/", 2)[-1]
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") or "?"


def read_profile(raw: Path, root: Path, top: int = 25) -> Profile:
    """Fold py-spy's raw output (one `frame;frame;... count` line per stack)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        found = _LINE.match(line.strip())
        if not found:
            continue
        count = int(found["count"])
        frames = [_frame_name(f, root) for f in found["stack"].split(";") if f.strip()]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[_NATIVE_BELOW.get(frames[-1], frames[-1])] += count
        areas[_area(frames[-1])] += count
        for name in set(frames):
            if not any(part in name for part in _SCAFFOLDING):
                inclusive[name] += count
    if not total:
        return Profile(0, [], [], [])
    return Profile(
        total,
        [(name, 100 * n / total) for name, n in own.most_common(top)],
        [(name, 100 * n / total) for name, n in inclusive.most_common(top)],
        [(name, 100 * n / total) for name, n in areas.most_common()],
    )
