"""What a store keeps for the API beyond executions: state machines' settings and deletion, activities, tags.

The durable tests run on both backends (a real SQLite file, a real
PostgreSQL database) and reopen the store to read back what was written: a
restarted server answers from it. The in-memory store answers the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from engine.store import InMemoryStore, Store, open_store

durable = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:approve"
DEFINITION = '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Store]:
    store = open_store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@durable
async def test_a_deleted_state_machine_stays_deleted_after_reopening(store_url: str) -> None:
    async with opened(store_url) as store:
        await store.put_state_machine(SM, "orders", DEFINITION, role_arn="r")
        await store.tag_resource(SM, {"team": "a"})
        await store.delete_state_machine(SM)
        await store.delete_state_machine(SM)  # deleting what is gone is no error
    async with opened(store_url) as store:
        assert await store.get_state_machine(SM) is None
        assert (await store.list_state_machines()).items == []
        assert await store.list_tags(SM) == {}
        # The name is free again: a new machine of that name starts with no tags of the old one.
        again = await store.put_state_machine(SM, "orders", DEFINITION, role_arn="r2", creation_date=CREATED)
        assert (again.role_arn, again.creation_date) == ("r2", CREATED)


@durable
async def test_settings_are_kept_and_replaced_by_each_put(store_url: str) -> None:
    settings = {"logging": {"level": "ALL", "includeExecutionData": True}, "revisionId": "r-1"}
    async with opened(store_url) as store:
        first = await store.put_state_machine(
            SM, "orders", DEFINITION, settings=settings, creation_date=CREATED
        )
        assert first.settings == settings
        await store.put_state_machine(SM, "orders", DEFINITION, settings={"revisionId": "r-2"})
    async with opened(store_url) as store:
        found = await store.get_state_machine(SM)
        assert found is not None
        assert (found.settings, found.creation_date) == ({"revisionId": "r-2"}, CREATED)


@durable
async def test_tags_are_added_replaced_and_removed_by_key(store_url: str) -> None:
    async with opened(store_url) as store:
        await store.put_state_machine(SM, "orders", DEFINITION)
        await store.tag_resource(SM, {"team": "a", "cost": "1"})
        await store.tag_resource(SM, {"team": "b"})
        await store.untag_resource(SM, ["cost", "absent"])
        await store.tag_resource(ACTIVITY, {"kind": "human"})
    async with opened(store_url) as store:
        assert await store.list_tags(SM) == {"team": "b"}
        assert await store.list_tags(ACTIVITY) == {"kind": "human"}


@durable
async def test_activities_are_created_once_listed_by_arn_and_deleted_with_their_tags(store_url: str) -> None:
    other = ACTIVITY + "-later"
    async with opened(store_url) as store:
        made = await store.put_activity(ACTIVITY, "approve", creation_date=CREATED)
        again = await store.put_activity(ACTIVITY, "approve")
        assert again == made and made.creation_date == CREATED
        await store.put_activity(other, "approve-later")
        await store.tag_resource(other, {"k": "v"})
    async with opened(store_url) as store:
        first = await store.list_activities(max_results=1)
        assert [a.arn for a in first.items] == [ACTIVITY] and first.next_token is not None
        rest = await store.list_activities(next_token=first.next_token)
        assert [a.name for a in rest.items] == ["approve-later"] and rest.next_token is None
        await store.delete_activity(other)
        await store.delete_activity(other)
    async with opened(store_url) as store:
        assert [a.arn for a in (await store.list_activities()).items] == [ACTIVITY]
        assert await store.list_tags(other) == {}


async def test_the_memory_store_answers_the_same() -> None:
    store = InMemoryStore()
    await store.put_state_machine(
        SM, "orders", DEFINITION, settings={"revisionId": "x"}, creation_date=CREATED
    )
    await store.tag_resource(SM, {"a": "1", "b": "2"})
    await store.untag_resource(SM, ["a"])
    assert await store.list_tags(SM) == {"b": "2"}
    found = await store.get_state_machine(SM)
    assert found is not None and found.settings == {"revisionId": "x"}
    await store.delete_state_machine(SM)
    assert await store.get_state_machine(SM) is None and await store.list_tags(SM) == {}
    made = await store.put_activity(ACTIVITY, "approve", creation_date=CREATED)
    assert await store.put_activity(ACTIVITY, "approve") == made
    await store.delete_activity(ACTIVITY)
    assert (await store.list_activities()).items == []
