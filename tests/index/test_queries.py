"""Unit tests of the pure builders and the model: no cluster, no database."""

from __future__ import annotations

import fnmatch
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from broker.index import (
    IndexedKey,
    IndexedReference,
    IndexMatch,
    OpenSearchReferenceIndex,
    Publication,
    SqliteReferenceIndex,
    open_reference_index,
    queries,
)
from broker.index.model import lookup_countries, lookup_digests, ordered_matches
from tests.index.builders import AS_OF, LATER, digest, key, ref

PUBLISHED = datetime(2025, 3, 1, 7, 8, 9, 123456, tzinfo=UTC)


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every dict inside a JSON-like structure."""
    if isinstance(node, dict):
        return [node, *(d for value in node.values() for d in _walk(value))]
    if isinstance(node, list):
        return [d for value in node for d in _walk(value)]
    return []


# ---------------------------------------------------------------- mapping and settings


def test_mapping_is_strict_and_has_no_analysed_text() -> None:
    mapping = queries.reference_mappings()

    assert mapping["dynamic"] == "strict"
    types = {field["type"] for field in mapping["properties"].values()}
    assert types <= {"keyword", "byte", "date"}
    assert all(d.get("type") != "text" and "analyzer" not in d for d in _walk(mapping))


def test_only_the_fields_a_lookup_filters_on_are_indexed() -> None:
    properties = queries.reference_mappings()["properties"]

    indexed = {name for name, field in properties.items() if field.get("index", True)}
    assert indexed == {"country", "reference", "kind", "category", "digests"}
    assert properties["digests"]["doc_values"] is False
    for name in ("key_types", "strengths", "as_of"):
        assert properties[name]["doc_values"] is False


def test_template_applies_to_generations_but_serves_none() -> None:
    template = queries.reference_template("selec")
    generation = queries.generation_name("selec", "RS", PUBLISHED)

    assert any(fnmatch.fnmatch(generation, p) for p in template["index_patterns"])
    assert "aliases" not in template["template"]
    assert template["template"]["mappings"] == queries.reference_mappings()
    assert template["template"]["settings"]["index"]["refresh_interval"] == "-1"


def test_one_prefix_patterns_do_not_reach_another_prefix() -> None:
    theirs = queries.generation_name("selec-test-0a1b2c3d-0001", "RS", PUBLISHED)

    assert not fnmatch.fnmatch(theirs, queries.refs_pattern("selec"))
    assert not fnmatch.fnmatch(theirs, queries.country_pattern("selec", "RS"))
    assert queries.generation_time("selec", "RS", theirs) is None


def test_load_overrides_are_all_reset_after_the_load() -> None:
    loading = queries.load_settings()["index"]
    reset = queries.after_load_settings()["index"]

    assert loading["number_of_replicas"] == 0
    assert loading["translog.durability"] == "async"
    assert set(reset) == set(loading)
    assert set(reset.values()) == {None}


def test_create_body_carries_mapping_and_pending_publication() -> None:
    pending = Publication("RS", AS_OF, 0, PUBLISHED)

    body = queries.create_body(queries.publication_meta(pending))

    assert body["mappings"]["dynamic"] == "strict"
    assert queries.publication_from_meta(body["mappings"]["_meta"]) == pending


# ---------------------------------------------------------------- names


def test_generation_names_are_lowercase_sortable_and_parse_back() -> None:
    first = queries.generation_name("selec", "RS", PUBLISHED)
    second = queries.generation_name("selec", "RS", PUBLISHED + timedelta(microseconds=1))

    assert first == "selec-refs-v1-rs-20250301070809123456"
    assert first == first.lower()
    assert first < second
    assert queries.generation_time("selec", "RS", first) == PUBLISHED
    assert queries.generation_time("selec", "BG", first) is None
    assert queries.generation_time("selec", "RS", "selec-refs-v1-rs-garbage") is None


@pytest.mark.parametrize("prefix", ["", "Selec", "selec refs", "-selec", "a" * 101, "selec*"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        queries.check_prefix(prefix)


# ---------------------------------------------------------------- bodies


def test_lookup_body_is_a_filter_on_digests() -> None:
    wanted = [digest("a"), digest("b")]

    body = queries.lookup_body(wanted, None, 10_000)

    assert body["query"] == {"bool": {"filter": [{"terms": {"digests": wanted}}]}}
    assert body["size"] == 10_000
    assert body["track_total_hits"] == 10_001
    assert body["sort"] == ["_doc"]
    assert set(body["_source"]) == set(queries.reference_mappings()["properties"])


def test_lookup_body_filters_countries_when_given() -> None:
    body = queries.lookup_body([digest("a")], ["BG", "RS"], 50)

    assert {"terms": {"country": ["BG", "RS"]}} in body["query"]["bool"]["filter"]
    assert body["size"] == 50


@pytest.mark.parametrize("cap", [0, queries.MAX_RESULT_WINDOW + 1])
def test_lookup_cap_stays_within_one_request(cap: int) -> None:
    with pytest.raises(ValueError):
        queries.lookup_body([digest("a")], None, cap)


def test_swap_is_one_request_that_removes_then_adds() -> None:
    body = queries.swap_actions("selec-refs", ["old-1", "old-2"], "new")

    assert body == {
        "actions": [
            {"remove": {"index": "old-1", "alias": "selec-refs", "must_exist": True}},
            {"remove": {"index": "old-2", "alias": "selec-refs", "must_exist": True}},
            {"add": {"index": "new", "alias": "selec-refs"}},
        ]
    }
    assert queries.swap_actions("selec-refs", [], "new") == {
        "actions": [{"add": {"index": "new", "alias": "selec-refs"}}]
    }


def test_reference_document_keeps_keys_in_parallel_arrays() -> None:
    reference = ref("RS", "jovan", key("a", 4, "person.exact.dob"), key("b", 1, "person.fold"))

    document = queries.reference_document(reference, AS_OF.isoformat())

    assert document == {
        "country": "RS",
        "reference": "RS-JOVAN",
        "kind": "person",
        "category": "wanted",
        "digests": [digest("a"), digest("b")],
        "key_types": ["person.exact.dob", "person.fold"],
        "strengths": [4, 1],
        "as_of": "2025-03-01T06:00:00+00:00",
    }


def test_bulk_lines_are_an_action_and_its_document() -> None:
    reference = ref("RS", "jovan", key("a", 4, "person.exact.dob"))

    action, document, end = queries.bulk_lines(reference, AS_OF.isoformat()).split("\n")

    assert json.loads(action) == {"index": {"_id": "RS-JOVAN"}}
    assert json.loads(document) == queries.reference_document(reference, AS_OF.isoformat())
    assert end == ""


def test_bulk_answers_name_only_the_error_type() -> None:
    failed = {
        "errors": True,
        "items": [{"index": {"error": {"type": "strict_dynamic_mapping_exception"}}}],
    }

    assert queries.bulk_error({"errors": False}) is None
    assert queries.bulk_error(failed) == "strict_dynamic_mapping_exception"
    assert queries.bulk_error({"errors": True}) == "error"
    assert queries.BULK_FILTER == "errors,items.*.error.type"


# ---------------------------------------------------------------- reading answers


def _hit(reference: IndexedReference, as_of: datetime = AS_OF) -> dict[str, Any]:
    return {"_source": queries.reference_document(reference, as_of.isoformat())}


def test_matches_from_hits_tell_which_keys_matched() -> None:
    reference = ref(
        "RS",
        "jovan",
        key("a", 2, "person.fold.yob"),
        key("b", 4, "person.exact.dob"),
        key("c", 1, "person.fold"),
    )

    found = queries.matches_from_hits([_hit(reference)], [digest("c"), digest("a")])

    assert found == [
        IndexMatch(
            "RS", "RS-JOVAN", "person", "wanted", 2, ("person.fold.yob", "person.fold"), AS_OF
        )
    ]


def test_matches_from_hits_skip_hits_without_a_wanted_digest() -> None:
    assert queries.matches_from_hits([_hit(ref("RS", "x", key("a")))], [digest("z")]) == []


def test_a_reference_in_two_generations_counts_once_from_the_newer() -> None:
    reference = ref("RS", "x", key("a"))

    found = queries.matches_from_hits(
        [_hit(reference, LATER), _hit(reference, AS_OF)], [digest("a")]
    )

    assert [m.as_of for m in found] == [LATER]


def test_publications_from_mappings_keep_the_newest_per_country() -> None:
    older = Publication("RS", AS_OF, 3, PUBLISHED)
    newer = Publication("RS", LATER, 4, PUBLISHED + timedelta(hours=1))
    other = Publication("BG", AS_OF, 0, PUBLISHED)

    def mapping(publication: Publication) -> dict[str, Any]:
        return {"mappings": queries.meta_body(publication)}

    answer = {
        "a": mapping(newer),
        "b": mapping(older),
        "c": mapping(other),
        "foreign": {"mappings": {"_meta": {"owner": "someone else"}}},
        "bare": {"mappings": {}},
    }

    assert queries.publications_from_mappings(answer) == {"RS": newer, "BG": other}


def test_total_hits_reads_both_answer_shapes() -> None:
    assert queries.total_hits({"hits": {"total": {"value": 7, "relation": "gte"}}}) == 7
    assert queries.total_hits({"hits": {"total": 3}}) == 3


# ---------------------------------------------------------------- model


def test_match_from_keys_orders_strongest_first_then_by_name() -> None:
    found = IndexMatch.from_keys(
        "RS",
        "RS-X",
        "person",
        "wanted",
        matched=[("person.fold", 1), ("person.typo.dob", 2), ("person.part.dob", 2)],
        as_of=AS_OF,
    )

    assert found.strength == 2
    assert found.matched_key_types == ("person.part.dob", "person.typo.dob", "person.fold")


def test_ordered_matches_strength_then_country_then_reference() -> None:
    def m(country: str, reference: str, strength: int) -> IndexMatch:
        return IndexMatch(country, reference, "person", "wanted", strength, ("k",), AS_OF)

    unordered = [m("RS", "RS-B", 3), m("BG", "BG-A", 1), m("RS", "RS-A", 3), m("AL", "AL-A", 3)]

    assert [x.reference for x in ordered_matches(unordered)] == ["AL-A", "RS-A", "RS-B", "BG-A"]


@pytest.mark.parametrize(
    ("arguments", "secret"),
    [
        (("person.fold", 3, "PETROVIC JOVAN 1980-01-02"), "PETROVIC"),
        (("person.fold", 3, "0" * 31), None),
        (("person.fold", 5, "0" * 32), None),
        (("person.fold", 0, "0" * 32), None),
        (("person.fold", True, "0" * 32), None),
        (("Petrovic Jovan", 3, "0" * 32), "Petrovic"),
    ],
)
def test_keys_refuse_anything_but_types_strengths_and_digests(
    arguments: tuple[Any, ...], secret: str | None
) -> None:
    with pytest.raises(ValueError) as caught:
        IndexedKey(*arguments)
    if secret:
        assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("country", "reference", "kind", "category"),
    [
        ("Serbia", "RS-X", "person", "wanted"),
        ("RS", "Jovan Petrović", "person", "wanted"),
        ("RS", "RS-X", "human", "wanted"),
        ("RS", "RS-X", "person", "Wanted by Belgrade police"),
        ("RS", "", "person", "wanted"),
    ],
)
def test_references_refuse_plaintext_shaped_fields(
    country: str, reference: str, kind: str, category: str
) -> None:
    with pytest.raises(ValueError) as caught:
        IndexedReference(country, reference, kind, category, ())
    assert "Petrović" not in str(caught.value)
    assert "Belgrade" not in str(caught.value)


def test_reference_keys_must_be_a_tuple_of_keys() -> None:
    with pytest.raises(ValueError):
        IndexedReference("RS", "RS-X", "person", "wanted", [key("a")])  # type: ignore[arg-type]


def test_lookup_arguments_are_validated_and_deduplicated() -> None:
    assert lookup_digests([digest("a"), digest("b"), digest("a")], 10) == [digest("a"), digest("b")]
    with pytest.raises(ValueError, match="at most 1"):
        lookup_digests([digest("a"), digest("b")], 1)
    assert lookup_countries(["RS", "BG", "RS"]) == ["BG", "RS"]
    assert lookup_countries(None) is None
    with pytest.raises(ValueError):
        lookup_countries("RS")


# ---------------------------------------------------------------- factory


def test_factory_opens_the_named_backend_without_connecting(tmp_path: Path) -> None:
    sqlite = open_reference_index("sqlite", sqlite_path=tmp_path / "refs.db")
    opensearch = open_reference_index("opensearch", opensearch_url="http://127.0.0.1:1", prefix="x")

    assert isinstance(sqlite, SqliteReferenceIndex)
    assert isinstance(opensearch, OpenSearchReferenceIndex)
    assert opensearch.prefix == "x"
    assert not (tmp_path / "refs.db").exists()
    with pytest.raises(ValueError, match="sqlite_path"):
        open_reference_index("sqlite")
    with pytest.raises(ValueError, match="opensearch_url"):
        open_reference_index("opensearch")
    with pytest.raises(ValueError, match="unknown"):
        open_reference_index("postgres", sqlite_path=tmp_path / "x.db")
