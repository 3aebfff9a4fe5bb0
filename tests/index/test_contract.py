"""The contract of `ReferenceIndex`: one suite, run against SQLite and a real OpenSearch."""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from broker.index import (
    IndexedKey,
    IndexedReference,
    IndexMatch,
    Publication,
    ReferenceIndex,
    TooManyMatches,
)
from tests.index.builders import AS_OF, LATER, digest, key, many, ref

RS1 = ref(
    "RS",
    "jovan",
    key("jovan-exact", 4, "person.exact.dob"),
    key("jovan-fold", 3, "person.fold.dob"),
    key("jovan-yob", 2, "person.fold.yob"),
    key("jovan-name", 1, "person.fold"),
)
RS2 = ref("RS", "jovana", key("jovana-fold", 3), key("jovan-name", 1, "person.fold"))
RS3 = ref("RS", "passport", key("passport-1", 4, "document.number"), kind="document")
BG1 = ref("BG", "ivan", key("jovan-fold", 3), category="missing")
RO1 = ref("RO", "ion", key("jovan-fold", 3), key("ion-yob", 2, "person.fold.yob"))


def match(reference: IndexedReference, strength: int, *types: str, as_of: datetime = AS_OF):
    """The IndexMatch a lookup should return for ``reference``."""
    return IndexMatch(
        reference.country,
        reference.reference,
        reference.kind,
        reference.category,
        strength,
        tuple(types),
        as_of,
    )


def seed(index: ReferenceIndex) -> None:
    index.publish("RS", [RS1, RS2, RS3], AS_OF)
    index.publish("BG", iter([BG1]), AS_OF)
    index.publish("RO", (r for r in [RO1]), AS_OF)


def test_is_a_reference_index(index: ReferenceIndex) -> None:
    assert isinstance(index, ReferenceIndex)


def test_publish_then_lookup(index: ReferenceIndex) -> None:
    publication = index.publish("RS", [RS1, RS2, RS3], AS_OF)

    assert (publication.country, publication.as_of, publication.reference_count) == (
        "RS",
        AS_OF,
        3,
    )
    assert index.lookup([digest("passport-1")]) == [match(RS3, 4, "document.number")]
    assert index.lookup([digest("jovana-fold")]) == [match(RS2, 3, "person.fold.dob")]


def test_several_digests_give_each_reference_once_with_its_strongest_key(
    index: ReferenceIndex,
) -> None:
    seed(index)

    found = index.lookup(
        [digest("jovan-name"), digest("jovan-yob"), digest("jovan-exact"), digest("nobody")]
    )

    assert found == [
        match(RS1, 4, "person.exact.dob", "person.fold.yob", "person.fold"),
        match(RS2, 1, "person.fold"),
    ]


def test_same_subject_is_found_across_countries_in_a_stable_order(index: ReferenceIndex) -> None:
    seed(index)

    found = index.lookup([digest("jovan-fold"), digest("ion-yob")])

    assert found == [
        match(BG1, 3, "person.fold.dob"),
        match(RO1, 3, "person.fold.dob", "person.fold.yob"),
        match(RS1, 3, "person.fold.dob"),
    ]


def test_duplicate_digests_in_a_lookup_count_once(index: ReferenceIndex) -> None:
    seed(index)

    assert index.lookup([digest("passport-1")] * 3) == [match(RS3, 4, "document.number")]


def test_country_filter(index: ReferenceIndex) -> None:
    seed(index)
    wanted = [digest("jovan-fold")]

    assert [m.country for m in index.lookup(wanted, ["BG"])] == ["BG"]
    assert [m.country for m in index.lookup(wanted, ("RS", "BG"))] == ["BG", "RS"]
    assert index.lookup(wanted, ["TR"]) == []
    assert index.lookup(wanted, []) == []
    assert [m.country for m in index.lookup(wanted, None)] == ["BG", "RO", "RS"]


def test_republish_replaces_the_country_and_keeps_the_others(index: ReferenceIndex) -> None:
    seed(index)
    changed = ref("RS", "jovan", key("jovan-exact-new", 4, "person.exact.dob"), category="seized")
    added = ref("RS", "new", key("new-fold", 3))

    publication = index.publish("RS", [changed, RS2, added], LATER)

    assert publication.reference_count == 3
    assert index.lookup([digest("passport-1")]) == []  # deleted at home
    assert index.lookup([digest("jovan-exact")]) == []  # that key changed
    assert index.lookup([digest("jovan-exact-new")]) == [
        match(changed, 4, "person.exact.dob", as_of=LATER)
    ]
    assert index.lookup([digest("new-fold")]) == [match(added, 3, "person.fold.dob", as_of=LATER)]
    assert index.lookup([digest("jovan-fold")]) == [
        match(BG1, 3, "person.fold.dob"),
        match(RO1, 3, "person.fold.dob"),
    ]
    assert {c: p.reference_count for c, p in index.publications().items()} == {
        "RS": 3,
        "BG": 1,
        "RO": 1,
    }


def test_publications_say_as_of_and_when(index: ReferenceIndex) -> None:
    assert index.publications() == {}
    before = datetime.now(UTC)
    seed(index)
    athens = timezone(timedelta(hours=2))
    index.publish("GR", [], datetime(2025, 3, 1, 8, 0, tzinfo=athens))
    after = datetime.now(UTC)

    publications = index.publications()

    assert sorted(publications) == ["BG", "GR", "RO", "RS"]
    assert publications["RS"] == Publication("RS", AS_OF, 3, publications["RS"].published_at)
    assert publications["GR"].as_of == AS_OF  # 08:00+02:00 is 06:00 UTC
    assert publications["GR"].as_of.utcoffset() == timedelta(0)
    for publication in publications.values():
        assert before <= publication.published_at <= after


def test_naive_as_of_is_refused(index: ReferenceIndex) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        index.publish("RS", [RS1], datetime(2025, 3, 1, 6, 0))
    assert index.publications() == {}


def _failing(first: Iterator[IndexedReference], after: int) -> Iterator[IndexedReference]:
    for n, reference in enumerate(first):
        if n == after:
            raise RuntimeError("the national export broke")
        yield reference


def test_publish_failing_half_way_keeps_the_previous_publication(index: ReferenceIndex) -> None:
    seed(index)
    publications = index.publications()
    documents = sorted(map(repr, index.documents()))
    looked_up = [digest("jovan-fold"), digest("passport-1"), digest("RS-1-fold")]
    answer = index.lookup(looked_up)

    with pytest.raises(RuntimeError, match="national export broke"):
        index.publish("RS", _failing(many("RS", 4_500), after=4_200), LATER)

    assert index.lookup(looked_up) == answer
    assert index.publications() == publications
    assert sorted(map(repr, index.documents())) == documents  # nothing half-built is left


def test_reference_of_another_country_is_refused_and_changes_nothing(
    index: ReferenceIndex,
) -> None:
    seed(index)
    publications = index.publications()
    stray = ref("BG", "stray", key("stray"))

    with pytest.raises(ValueError, match="another country"):
        index.publish("RS", [*many("RS", 2_500), stray, *many("RS", 10, start=3_000)], LATER)

    assert index.publications() == publications
    assert index.lookup([digest("stray"), digest("RS-5-fold")]) == []
    assert index.lookup([digest("passport-1")]) == [match(RS3, 4, "document.number")]


def test_same_reference_twice_is_refused_and_changes_nothing(index: ReferenceIndex) -> None:
    seed(index)
    publications = index.publications()

    with pytest.raises(ValueError, match="twice"):
        index.publish("RS", [RS1, RS2, ref("RS", "jovan", key("other"))], LATER)

    assert index.publications() == publications
    assert index.lookup([digest("other")]) == []


def test_bad_arguments_are_refused(index: ReferenceIndex) -> None:
    with pytest.raises(ValueError):
        index.publish("rs", [], AS_OF)
    with pytest.raises(ValueError):
        index.publish("RS", ["RS-JOVAN"], AS_OF)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="32 lowercase"):
        index.lookup(["NOT-A-DIGEST"])
    with pytest.raises(ValueError):
        index.lookup(digest("x"))  # one string, not a sequence
    with pytest.raises(ValueError):
        index.lookup([digest("x")], ["Serbia"])


def test_empty_publish_clears_the_country(index: ReferenceIndex) -> None:
    seed(index)

    publication = index.publish("RS", [], LATER)

    assert publication.reference_count == 0
    assert index.publications()["RS"].as_of == LATER
    assert index.lookup([digest("jovan-fold"), digest("passport-1")]) == [
        match(BG1, 3, "person.fold.dob"),
        match(RO1, 3, "person.fold.dob"),
    ]


def test_unknown_digests_find_nothing(index: ReferenceIndex) -> None:
    assert index.lookup([digest("anyone")]) == []  # nothing published yet
    seed(index)
    assert index.lookup([digest("nobody"), digest("no one")]) == []
    assert index.lookup([]) == []


def test_too_many_matches_are_refused_not_truncated(index: ReferenceIndex) -> None:
    shared = key("shared-name", 1, "person.fold")
    index.publish("RS", [ref("RS", f"p{n}", shared) for n in range(5)], AS_OF)

    index.max_matches = 5  # type: ignore[attr-defined]
    assert len(index.lookup([shared.digest])) == 5
    index.max_matches = 4  # type: ignore[attr-defined]
    with pytest.raises(TooManyMatches) as caught:
        index.lookup([shared.digest])
    assert shared.digest not in str(caught.value)


def test_ping(index: ReferenceIndex) -> None:
    assert index.ping() is True


def test_documents_cover_every_reference_key_and_publication(index: ReferenceIndex) -> None:
    seed(index)
    index.publish("GR", [], LATER)

    stored = repr(list(index.documents()))

    for reference in (RS1, RS2, RS3, BG1, RO1):
        assert reference.reference in stored
        for each in reference.keys:
            assert each.digest in stored
            assert each.key_type in stored
    assert AS_OF.isoformat() in stored
    assert LATER.isoformat() in stored  # GR's publication has no references: metadata only
    for publication in index.publications().values():
        assert publication.published_at.isoformat() in stored


class _Tracked(IndexedReference):
    """A reference that can be weakly referenced, to see how many a publish keeps alive."""

    __slots__ = ("__weakref__",)


def test_a_large_publication_is_streamed(index: ReferenceIndex) -> None:
    total = 5_000
    alive: weakref.WeakSet[_Tracked] = weakref.WeakSet()
    most_alive = 0

    def references() -> Iterator[IndexedReference]:
        nonlocal most_alive
        for plain in many("TR", total):
            tracked = _Tracked(
                plain.country, plain.reference, plain.kind, plain.category, plain.keys
            )
            alive.add(tracked)
            most_alive = max(most_alive, len(alive))
            yield tracked
            del tracked

    publication = index.publish("TR", references(), AS_OF)

    assert publication.reference_count == total
    assert most_alive <= total // 2, "publish held the whole publication in memory"
    found = index.lookup([digest("TR-0-exact"), digest("TR-4999-fold"), digest("TR-250-shared")])
    assert [m.reference for m in found] == [
        "TR-N0000000",
        "TR-N0004999",
        *(f"TR-N{n:07d}" for n in range(2_500, 2_510)),
    ]


def test_lookups_during_a_publish_see_the_old_or_the_new_publication(
    index: ReferenceIndex,
) -> None:
    index.publish("MK", many("MK", 2_000), AS_OF)
    looked_up = [digest(f"MK-{n}-fold") for n in (5, 1_500, 2_500, 3_900)]
    old = index.lookup(looked_up)
    answers: list[list[IndexMatch]] = []
    done = threading.Event()

    def look() -> None:
        while not done.is_set():
            answers.append(index.lookup(looked_up))

    reader = threading.Thread(target=look)
    reader.start()
    try:
        index.publish("MK", many("MK", 3_000, start=1_000), LATER)
    finally:
        done.set()
        reader.join()
    new = index.lookup(looked_up)

    assert [m.reference for m in old] == ["MK-N0000005", "MK-N0001500"]
    assert [m.reference for m in new] == ["MK-N0001500", "MK-N0002500", "MK-N0003900"]
    assert answers, "the reader never ran"
    assert all(answer in (old, new) for answer in answers)


def test_both_backends_give_identical_answers(
    both: tuple[ReferenceIndex, ReferenceIndex],
) -> None:
    rng = random.Random(20250301)
    pool = [digest(f"pool-{n}") for n in range(600)]
    types = [
        ("person.exact.dob", 4),
        ("person.fold.dob", 3),
        ("person.fold.yob", 2),
        ("person.fold", 1),
    ]
    countries = ["AL", "BA", "GR", "HU", "ME"]
    data: dict[str, list[IndexedReference]] = {country: [] for country in countries}
    for n in range(1_500):
        country = rng.choice(countries)
        keys = tuple(
            IndexedKey(key_type, strength, rng.choice(pool))
            for key_type, strength in rng.sample(types, rng.randint(1, 4))
        )
        kind = rng.choice(["person", "document", "vehicle", "phone"])
        data[country].append(IndexedReference(country, f"{country}-R{n:05d}", kind, "wanted", keys))
    for index in both:
        for country, references in data.items():
            index.publish(country, references, AS_OF)

    sqlite, opensearch = both
    for _ in range(60):
        digests = rng.sample(pool, 30) + [digest(f"absent-{rng.random()}") for _ in range(5)]
        among = rng.choice([None, rng.sample(countries, 2)])
        expected = sqlite.lookup(digests, among)
        assert expected, "the sample should hit something"
        assert opensearch.lookup(digests, among) == expected

    def facts(index: ReferenceIndex) -> dict[str, tuple[datetime, int]]:
        return {c: (p.as_of, p.reference_count) for c, p in index.publications().items()}

    assert facts(sqlite) == facts(opensearch)
