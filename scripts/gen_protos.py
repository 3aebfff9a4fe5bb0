#!/usr/bin/env python3
"""Regenerate the Python code (with .pyi stubs) for protos/selec/v1/*.proto.

Generated code is committed, so a fresh clone runs without grpcio-tools. `--check`
regenerates into a scratch directory and fails when the committed code differs: the
test suite runs it, so a proto change without regeneration cannot land.

Usage: python scripts/gen_protos.py [--check]
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "protos"
PACKAGE_DIR = Path("selec") / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_root: Path) -> list[Path]:
    """Run protoc over every .proto into out_root; return the generated files."""
    protos = sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    well_known = str(files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(p) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted(
        p for p in (out_root / PACKAGE_DIR).iterdir() if p.name.endswith(GENERATED_SUFFIXES)
    )


def check() -> int:
    """Compare freshly generated code with the committed code; print what differs."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = {p.name: p for p in generate(Path(scratch))}
        committed = {
            p.name: p for p in (REPO / PACKAGE_DIR).iterdir() if p.name.endswith(GENERATED_SUFFIXES)
        }
        stale = sorted(
            name
            for name in fresh.keys() | committed.keys()
            if name not in fresh
            or name not in committed
            or not filecmp.cmp(fresh[name], committed[name], shallow=False)
        )
    for name in stale:
        print(f"stale generated file: {PACKAGE_DIR / name}", file=sys.stderr)
    if stale:
        print("run: python scripts/gen_protos.py", file=sys.stderr)
    return 1 if stale else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    options = parser.parse_args()
    if options.check:
        return check()
    for path in generate(REPO):
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
