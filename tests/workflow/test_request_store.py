"""The contract of `RequestStore`: one suite, run against SQLite and a real OpenSearch."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import grpc
import pytest

from broker.workflow import (
    ConcurrentUpdate,
    DetailsRequest,
    DuplicateRequest,
    InvalidTransition,
    RequestNotFound,
    RequestQuery,
    RequestState,
    RequestStore,
    transitions,
)
from broker.workflow.model import STORED_FIELDS, newest_first
from tests.workflow.builders import T0, details, new_id
from tests.workflow.conftest import Backend

RACES = 50
NONCE = "grant-nonce-0123456789abcdef"


def approved(request: DetailsRequest, by: str = "approver-rs-1") -> DetailsRequest:
    return transitions.approve(
        request,
        by=by,
        by_country=request.country,
        at=T0 + timedelta(hours=1),
        handling_code="H2",
        expires_at=T0 + timedelta(days=3),
        grant_nonce=NONCE,
    )


def denied(request: DetailsRequest, by: str = "approver-rs-2") -> DetailsRequest:
    return transitions.deny(
        request,
        by=by,
        by_country=request.country,
        at=T0 + timedelta(hours=1),
        reason="not proportionate to the purpose",
    )


# ---------------------------------------------------------------- create and get


def test_is_a_request_store(store: RequestStore) -> None:
    assert isinstance(store, RequestStore)
    assert store.ping() is True


def test_a_store_never_prepared_prepares_itself(stores: Backend[RequestStore]) -> None:
    unprepared = stores.open(prepare=False)

    assert unprepared.list() == []
    created = unprepared.create(details())
    assert stores.open(prepare=False).get(created.request_id) == created


def test_create_sets_a_version_and_get_returns_the_same_request(store: RequestStore) -> None:
    request = details()

    created = store.create(request)

    assert created.version
    assert replace(created, version="") == request
    assert store.get(request.request_id) == created


def test_a_duplicate_id_is_refused_and_the_first_request_kept(store: RequestStore) -> None:
    first = store.create(details())

    with pytest.raises(DuplicateRequest) as caught:
        store.create(details(request_id=first.request_id, reference="RS-OTHER"))

    assert caught.value.status == grpc.StatusCode.ALREADY_EXISTS
    assert store.get(first.request_id) == first


def test_an_unknown_id_is_not_found(store: RequestStore) -> None:
    with pytest.raises(RequestNotFound) as caught:
        store.get(new_id())

    assert caught.value.status == grpc.StatusCode.NOT_FOUND


def test_a_malformed_id_is_a_value_error(store: RequestStore) -> None:
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")


# ---------------------------------------------------------------- update


def test_update_with_the_current_version_stores_and_moves_the_version(
    store: RequestStore,
) -> None:
    created = store.create(details())

    updated = store.update(approved(created), created.version)

    assert updated.version != created.version
    assert updated.state is RequestState.APPROVED
    assert store.get(created.request_id) == updated


def test_update_with_a_stale_version_is_a_concurrent_update(store: RequestStore) -> None:
    created = store.create(details())
    winner = store.update(approved(created), created.version)

    with pytest.raises(ConcurrentUpdate) as caught:
        store.update(denied(created), created.version)

    assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert store.get(created.request_id) == winner


def test_the_version_on_the_object_is_ignored(store: RequestStore) -> None:
    created = store.create(details())
    store.update(approved(created), created.version)

    stale = replace(denied(created), version="")
    with pytest.raises(ConcurrentUpdate):
        store.update(stale, created.version)


def test_update_of_an_unknown_request_is_not_found(store: RequestStore) -> None:
    created = store.create(details())

    with pytest.raises(RequestNotFound):
        store.update(replace(approved(created), request_id=new_id()), created.version)


@pytest.mark.parametrize("token", ["", "abc", "1:2:3", "-1", "9" * 40])
def test_a_version_the_store_never_issued_is_a_value_error(store: RequestStore, token: str) -> None:
    created = store.create(details())

    with pytest.raises(ValueError):
        store.update(approved(created), token)
    assert store.get(created.request_id) == created


def test_a_whole_life_approve_then_reveal_once(store: RequestStore) -> None:
    request = store.create(details())
    request = store.update(approved(request), request.version)
    revealed = transitions.reveal(request, by=request.requester, at=T0 + timedelta(days=1))
    request = store.update(revealed, request.version)

    assert store.get(request.request_id).state is RequestState.REVEALED
    with pytest.raises(InvalidTransition):
        transitions.reveal(request, by=request.requester, at=T0 + timedelta(days=1))


# ---------------------------------------------------------------- list and count


def _seed(store: RequestStore) -> list[DetailsRequest]:
    """Requests of two officers, to two countries, in every state, some overdue at T0+3d.

    Written from a few threads at once: a ``wait_for`` write takes a refresh interval, and
    the writes do not depend on each other.
    """
    pending: list[DetailsRequest] = []
    to_decide: list[tuple[DetailsRequest, object]] = []
    hour = 0
    for requester in ("officer-ro-1", "officer-gr-2"):
        for country in ("RS", "BG"):
            for deadline in (timedelta(hours=24), timedelta(days=7)):
                hour += 1
                created = T0 + timedelta(hours=hour)
                pending.append(
                    details(
                        requester=requester, country=country, created=created, deadline=deadline
                    )
                )
            hour += 1
            step = approved if requester == "officer-ro-1" else denied
            decided = details(
                requester=requester, country=country, created=T0 + timedelta(hours=hour)
            )
            to_decide.append((decided, step))
    same_time = T0 + timedelta(hours=hour)
    pending.extend(details(created=same_time) for _ in range(3))

    def decide(item: tuple[DetailsRequest, object]) -> DetailsRequest:
        request, step = item
        created = store.create(request)
        by = f"approver-{request.country.lower()}"
        return store.update(step(created, by=by), created.version)  # type: ignore[operator]

    with ThreadPoolExecutor(8) as pool:
        return [*pool.map(store.create, pending), *pool.map(decide, to_decide)]


FILTERS: list[dict[str, object]] = [
    {},
    {"requester": "officer-ro-1"},
    {"requester": "nobody"},
    {"country": "RS", "states": {RequestState.PENDING}},
    {"country": "BG"},
    {"states": {RequestState.APPROVED, RequestState.DENIED}},
    {"overdue_at": T0 + timedelta(days=3)},
    {"overdue_at": T0 + timedelta(days=3), "country": "BG"},
    {"overdue_at": T0 + timedelta(days=3), "states": {RequestState.APPROVED}},
    {"requester": "officer-gr-2", "country": "RS", "states": {RequestState.DENIED}},
    {"limit": 4},
    {"requester": "officer-ro-1", "limit": 1},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(sorted(f)) for f in FILTERS])
def test_list_answers_exactly_the_matching_requests_newest_first(
    store: RequestStore, filters: dict[str, object]
) -> None:
    seeded = _seed(store)
    query = RequestQuery.build(**filters)  # type: ignore[arg-type]
    expected = newest_first(r for r in seeded if query.matches(r))[: query.limit]

    assert store.list(**filters) == expected  # type: ignore[arg-type]


def test_list_filters_mean_what_the_broker_asks(store: RequestStore) -> None:
    seeded = _seed(store)
    late = T0 + timedelta(days=3)

    mine = store.list(requester="officer-ro-1")
    queue = store.list(country="RS", states={RequestState.PENDING})
    overdue = store.list(overdue_at=late)

    assert mine and all(r.requester == "officer-ro-1" for r in mine)
    assert queue and all(r.country == "RS" and r.state is RequestState.PENDING for r in queue)
    assert overdue and all(r.is_overdue(late) for r in overdue)
    assert {r.request_id for r in overdue} == {r.request_id for r in seeded if r.is_overdue(late)}
    created = [r.created_at for r in store.list()]
    assert created == sorted(created, reverse=True)


def test_an_empty_states_filter_matches_nothing(store: RequestStore) -> None:
    _seed(store)

    assert store.list(states=set()) == []


@pytest.mark.parametrize(
    "filters",
    [
        {"limit": 0},
        {"limit": 10_001},
        {"states": "pending"},
        {"states": {"bogus"}},
        {"country": "Serbia"},
        {"overdue_at": T0.replace(tzinfo=None)},
    ],
)
def test_list_refuses_bad_arguments(store: RequestStore, filters: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        store.list(**filters)  # type: ignore[arg-type]


def test_count_overdue_counts_pending_past_deadline_by_owner(store: RequestStore) -> None:
    seeded = _seed(store)
    late = T0 + timedelta(days=3)
    expected: dict[str, int] = {}
    for request in seeded:
        if request.is_overdue(late):
            expected[request.country] = expected.get(request.country, 0) + 1

    assert store.count_overdue(late) == expected
    assert expected == {"RS": 5, "BG": 2}
    assert store.count_overdue(T0) == {}


# ---------------------------------------------------------------- durability and sharing


def test_a_request_survives_a_restart(stores: Backend[RequestStore]) -> None:
    first = stores.open()
    created = first.create(details())
    decided = first.update(approved(created), created.version)
    first.close()

    restarted = stores.open()

    assert restarted.get(created.request_id) == decided
    assert restarted.list(requester=created.requester) == [decided]


def test_two_instances_see_each_others_writes_at_once(stores: Backend[RequestStore]) -> None:
    one, two = stores.open(), stores.open()

    created = one.create(details())
    assert two.get(created.request_id) == created
    assert two.list(country=created.country, states={RequestState.PENDING}) == [created]

    decided = two.update(approved(created), created.version)
    assert one.get(created.request_id) == decided
    assert one.list(states={RequestState.APPROVED}) == [decided]
    assert one.count_overdue(T0 + timedelta(days=30)) == {}
    with pytest.raises(ConcurrentUpdate):
        one.update(denied(created), created.version)


def _race(one: RequestStore, two: RequestStore, request_id: str) -> list[object]:
    """Two approvers read the same version, then decide at the same moment."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def decide(slot: int, store: RequestStore, step: object) -> None:
        read = store.get(request_id)
        barrier.wait()
        try:
            outcomes[slot] = store.update(step(read), read.version)  # type: ignore[operator]
        except ConcurrentUpdate as lost:
            outcomes[slot] = lost

    threads = [
        threading.Thread(target=decide, args=(0, one, approved)),
        threading.Thread(target=decide, args=(1, two, denied)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_approvers_racing_exactly_one_decision_wins(stores: Backend[RequestStore]) -> None:
    one, two = stores.open(), stores.open()
    winners = {"approved": 0, "denied": 0}

    for _ in range(RACES):
        created = one.create(details())
        outcomes = _race(one, two, created.request_id)

        won = [o for o in outcomes if isinstance(o, DetailsRequest)]
        lost = [o for o in outcomes if isinstance(o, ConcurrentUpdate)]
        assert (len(won), len(lost)) == (1, 1), outcomes
        assert one.get(created.request_id) == won[0]
        assert two.get(created.request_id) == won[0]
        winners[won[0].state.value] += 1

    assert sum(winners.values()) == RACES


def test_one_instance_shared_by_threads_also_lets_one_win(store: RequestStore) -> None:
    for _ in range(10):
        created = store.create(details())
        outcomes = _race(store, store, created.request_id)

        assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrentUpdate", "DetailsRequest"]


# ---------------------------------------------------------------- what is stored


def test_documents_hold_the_request_fields_and_nothing_else(store: RequestStore) -> None:
    created = store.create(details())
    store.update(approved(created), created.version)

    rows = [doc for doc in store.documents() if doc.get("request_id") == created.request_id]

    assert len(rows) == 1
    bookkeeping = {"_table", "_index", "_id", "version"}
    assert set(rows[0]) - bookkeeping == set(STORED_FIELDS)
    assert rows[0]["state"] == "approved"
