"""How search answers are shown: a table that fills in as countries answer, or JSON lines."""

from __future__ import annotations

import json
from typing import TextIO

from selec.v1 import broker_pb2, common_pb2


def enum_name(enum: object, value: int, prefix: str) -> str:
    """`COUNTRY_STATUS_NO_HIT` -> `NO_HIT`."""
    name = enum.Name(value)  # type: ignore[attr-defined]
    return name.removeprefix(prefix)


def status_name(value: int) -> str:
    """Short name of a CountryStatus."""
    return enum_name(broker_pb2.CountryStatus, value, "COUNTRY_STATUS_")


def hit_json(hit: common_pb2.Hit) -> dict[str, object]:
    """A hit as a plain JSON object with short enum names."""
    return {
        "reference": hit.reference,
        "kind": enum_name(common_pb2.RecordKind, hit.kind, "RECORD_KIND_"),
        "category": enum_name(common_pb2.Category, hit.category, "CATEGORY_"),
        "strength": enum_name(common_pb2.MatchStrength, hit.strength, "MATCH_STRENGTH_"),
        "matched_key_types": list(hit.matched_key_types),
    }


def result_json(result: broker_pb2.CountryResult) -> dict[str, object]:
    """A country result as a plain JSON object."""
    shown: dict[str, object] = {
        "country": result.country,
        "status": status_name(result.status),
        "latency_seconds": round(result.latency_seconds, 4),
        "hit_count": result.hit_count,
        "detail": result.detail,
    }
    if result.HasField("indexed_as_of"):
        shown["indexed_as_of"] = result.indexed_as_of.ToDatetime().isoformat() + "Z"
    return shown


def subject_json(subject: broker_pb2.CorrelatedSubject) -> dict[str, object]:
    """A correlated subject as a plain JSON object."""
    return {
        "subject_id": subject.subject_id,
        "strength": enum_name(common_pb2.MatchStrength, subject.strength, "MATCH_STRENGTH_"),
        "shared_key_types": list(subject.shared_key_types),
        "members": [{"country": m.country, "reference": m.reference} for m in subject.members],
    }


class JsonPrinter:
    """One JSON object per line: each country's answer, then the summary."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def answer(self, answer: broker_pb2.CountryAnswer) -> None:
        """Print one country's answer."""
        line = {"type": "answer", **result_json(answer.result)}
        line["hits"] = [hit_json(h) for h in answer.hits]
        self._emit(line)

    def summary(self, summary: broker_pb2.SearchSummary) -> None:
        """Print the summary."""
        self._emit(
            {
                "type": "summary",
                "search_id": summary.search_id,
                "elapsed_seconds": round(summary.elapsed_seconds, 4),
                "results": [result_json(r) for r in summary.results],
                "subjects": [subject_json(s) for s in summary.subjects],
            }
        )

    def _emit(self, value: dict[str, object]) -> None:
        self.out.write(json.dumps(value, ensure_ascii=False) + "\n")
        self.out.flush()


class TablePrinter:
    """A table with a row per country as it answers, hits beneath, then a summary line."""

    ROW = "{:<8} {:<12} {:>9} {:>5}  {}"

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.out.write(self.ROW.format("COUNTRY", "STATUS", "LATENCY", "HITS", "DETAIL") + "\n")
        self.out.flush()

    def answer(self, answer: broker_pb2.CountryAnswer) -> None:
        """Print a country's row and its hits."""
        result = answer.result
        self.out.write(
            self.ROW.format(
                result.country,
                status_name(result.status),
                f"{result.latency_seconds * 1000:.0f} ms",
                result.hit_count,
                result.detail,
            )
            + "\n"
        )
        for hit in answer.hits:
            shown = hit_json(hit)
            self.out.write(
                f"         -> {shown['reference']}  {shown['kind']} {shown['category']}"
                f"  match {shown['strength']} ({', '.join(hit.matched_key_types[:3])})\n"
            )
        self.out.flush()

    def summary(self, summary: broker_pb2.SearchSummary) -> None:
        """Print the closing line."""
        by_status: dict[str, list[str]] = {}
        for result in summary.results:
            by_status.setdefault(status_name(result.status), []).append(result.country)
        counts = ", ".join(f"{name} {len(codes)}" for name, codes in sorted(by_status.items()))
        hits = sum(r.hit_count for r in summary.results)
        for subject in summary.subjects:
            known_in = ", ".join(dict.fromkeys(m.country for m in subject.members))
            strength = enum_name(common_pb2.MatchStrength, subject.strength, "MATCH_STRENGTH_")
            self.out.write(f"same subject ({strength}) known in {known_in}\n")
        asked = len(summary.results)
        self.out.write(
            f"search {summary.search_id}: {hits} hit(s); {asked} "
            f"{'country' if asked == 1 else 'countries'} asked ({counts}) "
            f"in {summary.elapsed_seconds * 1000:.0f} ms\n"
        )
        self.out.flush()
