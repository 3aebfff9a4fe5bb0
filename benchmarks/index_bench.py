"""Reference index benchmark against a real OpenSearch node: publish rate and lookup latency.

    .venv/bin/python benchmarks/index_bench.py                      # 1,000,000 references
    .venv/bin/python benchmarks/index_bench.py --references 100000  # a quicker run

Publishes N synthetic references spread over the 11 member states (one full publication per
country, one after the other, as nodes would). Each country's references are built before its
publish is timed (a country at a time, so memory holds one country's), so the rate is the
index's own; the time spent building them is printed beside it. Then, after ``--warmup``
unmeasured lookups (the JVM compiles its search path on first use), times ``lookup()`` of
one search's keys: ~30 digests, a third of them held by some reference and the rest absent,
over all countries, each search with digests of its own.
Prints each figure beside its target and PASS/FAIL; exits 1 if any target is missed.

The node is ``--url`` (default ``$OPENSEARCH_URL``, else http://127.0.0.1:9200; start one with
``scripts/opensearch start``). Everything is written under a fresh ``selec-bench-*`` prefix
and dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from broker.index import IndexedKey, IndexedReference, OpenSearchReferenceIndex
from selec.countries import MEMBER_STATES

PUBLISH_TARGET = 10_000  # references per second
P50_TARGET_MS = 5.0
P99_TARGET_MS = 20.0

# A person record's keys as the scheme makes them (connectors/keys/scheme.py), trimmed to
# the common ones; typo forms add more on long names.
KEY_TYPES: tuple[tuple[str, int], ...] = (
    ("person.exact.dob", 4),
    ("person.fold.dob", 3),
    ("person.part.dob", 2),
    ("person.part.dob", 2),
    ("person.fold.yob", 2),
    ("person.typo.dob", 2),
    ("person.typo.dob", 2),
    ("person.fold", 1),
)


def key_digest(country: str, n: int, slot: int) -> str:
    """The synthetic digest of key ``slot`` of reference ``n`` of ``country``."""
    material = f"{country}|{n}|{slot}".encode()
    return hashlib.blake2b(material, digest_size=16).hexdigest()


def references(country: str, count: int, keys: int) -> Iterator[IndexedReference]:
    """``count`` references of ``country``, generated lazily as a node's export would be."""
    types = [KEY_TYPES[slot % len(KEY_TYPES)] for slot in range(keys)]
    for n in range(count):
        yield IndexedReference(
            country,
            f"{country}-{n:026d}",
            "person",
            "wanted",
            tuple(
                IndexedKey(key_type, strength, key_digest(country, n, slot))
                for slot, (key_type, strength) in enumerate(types)
            ),
        )


def split(total: int, countries: Sequence[str]) -> dict[str, int]:
    """``total`` references shared out over ``countries`` as evenly as possible."""
    share, extra = divmod(total, len(countries))
    return {c: share + (1 if i < extra else 0) for i, c in enumerate(countries)}


def search_digests(rng: random.Random, counts: dict[str, int], keys: int, size: int) -> list[str]:
    """One search's keys: a third present in the index, the rest absent."""
    present = size // 3
    chosen = []
    for _ in range(present):
        country = rng.choice([c for c, n in counts.items() if n])
        chosen.append(key_digest(country, rng.randrange(counts[country]), rng.randrange(keys)))
    chosen += [rng.randbytes(16).hex() for _ in range(size - present)]
    rng.shuffle(chosen)
    return chosen


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def publish_all(
    index: OpenSearchReferenceIndex, counts: dict[str, int], keys: int
) -> tuple[float, float]:
    """Publish every country; seconds spent in publish() and in building the references."""
    as_of = datetime.now(UTC)
    publish_seconds = generate_seconds = 0.0
    for country, count in counts.items():
        began = time.perf_counter()
        batch = list(references(country, count, keys))
        generated = time.perf_counter()
        publication = index.publish(country, iter(batch), as_of)
        took = time.perf_counter() - generated
        del batch
        generate_seconds += generated - began
        publish_seconds += took
        print(
            f"  published {country}: {publication.reference_count:>9,} references "
            f"in {took:6.1f} s ({publication.reference_count / took:,.0f}/s)",
            flush=True,
        )
    return publish_seconds, generate_seconds


def time_lookups(
    index: OpenSearchReferenceIndex, searches: list[list[str]], warmup: list[list[str]]
) -> tuple[list[float], int]:
    """Milliseconds of each measured lookup, and the matches they found.

    A long-running node has compiled its search path, a fresh one has not: ``warmup``
    searches run first, unmeasured, and share no search with the measured ones (so none
    finds its digests already cached).
    """
    for digests in warmup:
        index.lookup(digests)
    timings = []
    hits = 0
    for digests in searches:
        began = time.perf_counter()
        found = index.lookup(digests)
        timings.append((time.perf_counter() - began) * 1_000)
        hits += len(found)
    return timings, hits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("OPENSEARCH_URL", "http://127.0.0.1:9200"))
    parser.add_argument("--references", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=len(KEY_TYPES), help="keys per reference")
    parser.add_argument("--lookups", type=int, default=1_000)
    parser.add_argument("--digests", type=int, default=30, help="digests per lookup")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured lookups first")
    parser.add_argument("--chunk", type=int, default=None, help="bulk chunk size (documents)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="do not drop the indices at the end")
    args = parser.parse_args(argv)

    prefix = f"selec-bench-{uuid.uuid4().hex[:8]}"
    options = {"bulk_chunk_docs": args.chunk} if args.chunk else {}
    index = OpenSearchReferenceIndex.from_url(args.url, prefix, timeout=30.0, **options)
    counts = split(args.references, MEMBER_STATES)
    rng = random.Random(args.seed)
    warmup = [search_digests(rng, counts, args.keys, args.digests) for _ in range(args.warmup)]
    searches = [search_digests(rng, counts, args.keys, args.digests) for _ in range(args.lookups)]
    print(
        f"index benchmark: {args.url} prefix={prefix} references={args.references:,} "
        f"countries={len(counts)} keys/reference={args.keys} cpus={os.cpu_count()} "
        f"load={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    try:
        index.prepare()
        publish_seconds, generate_seconds = publish_all(index, counts, args.keys)
        timings, hits = time_lookups(index, searches, warmup)
    finally:
        if not args.keep:
            index.drop()
        index.close()

    rate = args.references / publish_seconds
    p50 = statistics.median(timings)
    p99 = statistics.quantiles(timings, n=100, method="inclusive")[98]
    results = [
        ("publish", f"{rate:,.0f} refs/s", f">= {PUBLISH_TARGET:,} refs/s", rate >= PUBLISH_TARGET),
        ("lookup p50", f"{p50:.2f} ms", f"<= {P50_TARGET_MS:g} ms", p50 <= P50_TARGET_MS),
        ("lookup p99", f"{p99:.2f} ms", f"<= {P99_TARGET_MS:g} ms", p99 <= P99_TARGET_MS),
    ]
    print(
        f"\n{args.references:,} references published in {publish_seconds:.1f} s "
        f"(building them beforehand took {generate_seconds:.1f} s more: "
        f"{args.references / (publish_seconds + generate_seconds):,.0f} refs/s end to end); "
        f"{args.lookups:,} lookups of {args.digests} digests after {args.warmup} unmeasured "
        f"({hits / args.lookups:.1f} matches each on average)"
    )
    print(f"(load average now {os.getloadavg()[0]:.1f}: other work on the machine slows both)")
    print(f"{'measure':<12} {'measured':>16}   {'target':<16} result")
    for name, measured, target, ok in results:
        print(f"{name:<12} {measured:>16}   {target:<16} {verdict(ok)}")
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
