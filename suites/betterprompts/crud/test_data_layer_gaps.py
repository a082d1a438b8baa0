"""What the Python mutants of the services and the Database showed the suites did not pin: an API
metric's zero response time and its sizes, a feedback of exactly 4 counting a success, the
statement a refusal or a lock timeout names, the pool's idle lifetime, and a unit of work whose
own code fails after the server ended its connection."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
import pytest
import pytest_asyncio

from betterprompts_db.data.errors import PermissionDenied, Timeout
from betterprompts_db.data.postgres import DataLayer, Enhancement, connect
from harness.pytest_plugin import Database
from suites.betterprompts.conftest import FAST_AUTH, HangGuards
from suites.betterprompts.crud.layers import impatient_layer


async def register(layer: DataLayer, name: str) -> Any:
    return await layer.auth.register(email=f"{name}@example.com", username=name, password="pw")


async def test_an_api_metric_keeps_a_zero_response_time_and_both_sizes(data: DataLayer, owner_data: DataLayer) -> None:
    metric = await data.analytics.record_api_metric(
        endpoint="/v1/health", method="GET", status_code=200, response_time_ms=0.0,
        request_size_bytes=12, response_size_bytes=3456,
    )  # fmt: skip
    row = await owner_data.repos.api_metrics.get(metric)
    assert (row.response_time_ms, row.request_size_bytes, row.response_size_bytes) == (0.0, 12, 3456)


async def test_a_feedback_of_4_counts_a_success_and_raising_it_to_5_does_not_count_again(
    data: DataLayer, owner_data: DataLayer
) -> None:
    user = await register(data, "quin")
    entry = await data.prompts.record_enhancement(
        Enhancement(
            user_id=user.id, request_id=f"req-{uuid.uuid4().hex}", original_input="sort a list",
            enhanced_output="Let's think step by step.", intent="code_generation", intent_confidence=0.9,
            techniques_used=["few_shot"], processing_time_ms=120,
        )
    )  # fmt: skip
    await data.prompts.record_feedback(user.id, entry.id, 4)
    counter = (await owner_data.repos.technique_effectiveness.list()).items[0]
    assert (counter.success_count, counter.total_count) == (1, 1)
    await data.prompts.record_feedback(user.id, entry.id, 5)
    counter = (await owner_data.repos.technique_effectiveness.list()).items[0]
    assert (counter.success_count, counter.total_count) == (1, 1)


@pytest_asyncio.fixture
async def reader(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """The data layer logged in as bp_readonly (reporting): no sessions, no definer functions."""
    layer = await connect(fresh_database.dsn_as("bp_readonly"), hang_guards.pool(min_size=1, max_size=2), FAST_AUTH)
    yield layer
    await layer.close()


async def test_a_sweep_of_sessions_by_a_role_without_the_privilege_names_the_table(reader: DataLayer) -> None:
    with pytest.raises(PermissionDenied) as refused:
        await reader.auth.expire_sessions()
    assert str(refused.value).startswith("auth.sessions: permission denied for table sessions"), refused.value


async def test_opening_a_share_link_by_a_role_without_the_function_names_the_function(reader: DataLayer) -> None:
    with pytest.raises(PermissionDenied) as refused:
        await reader.prompts.find_shared("some-share-token")
    assert str(refused.value).startswith(
        "prompts.open_shared_prompt: permission denied for function open_shared_prompt"
    ), refused.value


@pytest_asyncio.fixture
async def impatient_app(fresh_database: Database, hang_guards: HangGuards) -> AsyncIterator[DataLayer]:
    """bp_app with a 300 ms statement timeout: a statement stuck behind a lock is cancelled."""
    async with impatient_layer(fresh_database.dsn_as("bp_app"), hang_guards) as layer:
        yield layer


async def test_a_reorder_stuck_behind_an_index_builds_share_lock_times_out_naming_the_table_and_changes_nothing(
    impatient_app: DataLayer, fresh_database: Database
) -> None:
    """A non-concurrent CREATE INDEX holds SHARE: the rows still lock FOR UPDATE, the UPDATE waits."""
    layer = impatient_app
    user = await register(layer, "rhea")
    async with layer.db.transaction(user_id=user.id):
        saved = [await layer.repos.saved_prompts.create(user_id=user.id, title=t, prompt_text=t) for t in "ab"]
        collection = await layer.repos.collections.create(user_id=user.id, name="mine")
    for prompt in saved:
        await layer.prompts.add_to_collection(user.id, collection.id, prompt.id)
    holder = await asyncpg.connect(fresh_database.dsn)
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE prompts.collection_prompts IN SHARE MODE")
            with pytest.raises(Timeout) as stuck:
                await layer.prompts.reorder_collection(user.id, collection.id, [saved[1].id, saved[0].id])
    finally:
        await holder.close()
    assert str(stuck.value).startswith("prompts.collection_prompts: canceling statement due to statement timeout")
    async with layer.db.transaction(user_id=user.id):
        rows = (await layer.repos.collection_prompts.list(filters={"collection_id": collection.id})).items
    assert [r.saved_prompt_id for r in sorted(rows, key=lambda r: r.position)] == [p.id for p in saved]


async def test_a_connection_idle_past_its_lifetime_is_closed_down_to_the_pools_minimum(
    fresh_database: Database, hang_guards: HangGuards
) -> None:
    settings = hang_guards.pool(min_size=1, max_size=2, max_inactive_connection_lifetime=0.2)
    layer = await connect(fresh_database.dsn_as("bp_app"), settings, FAST_AUTH)
    try:
        first, second = await layer.db.pool.acquire(), await layer.db.pool.acquire()
        await layer.db.pool.release(first)
        await layer.db.pool.release(second)
        assert layer.db.stats().size == 2
        deadline = time.monotonic() + hang_guards.seconds  # a hang guard: the default lifetime is 300 s
        while layer.db.stats().size > 1:
            assert time.monotonic() < deadline, "the idle connection above the minimum was never closed"
            await asyncio.sleep(0.05)  # a pool statistic has no event to wait on
        assert await layer.db.fetchval("probe", "SELECT 1") == 1
    finally:
        await layer.close()


def end_backend_blocking(dsn: str, pid: int, wait_seconds: float) -> bool:
    """pg_terminate_backend from another thread while this one (and its event loop) waits: the
    ended connection's client learns of it only at its next statement."""
    ended: list[bool] = []

    async def end() -> None:
        admin = await asyncpg.connect(dsn)
        try:
            ended.append(await admin.fetchval("SELECT pg_terminate_backend($1, $2)", pid, round(wait_seconds * 1000)))
        finally:
            await admin.close()

    thread = threading.Thread(target=lambda: asyncio.run(end()))
    thread.start()
    thread.join()
    return ended == [True]


class CallersOwnError(Exception):
    pass


async def test_a_unit_of_work_failing_in_its_own_code_after_the_server_ended_it_raises_the_callers_error(
    fresh_database: Database, hang_guards: HangGuards
) -> None:
    """The rollback on the way out fails (the connection is gone): the caller's error is the one raised."""
    layer = await connect(fresh_database.dsn_as("bp_owner"), hang_guards.pool(min_size=1, max_size=1), FAST_AUTH)

    async def fail_after_the_server_ended_the_unit() -> None:
        async with layer.db.transaction():
            pid = await layer.db.fetchval("probe", "SELECT pg_backend_pid()")
            assert end_backend_blocking(fresh_database.dsn, pid, hang_guards.seconds)
            raise CallersOwnError("the caller's own failure")

    try:
        with pytest.raises(CallersOwnError):
            await fail_after_the_server_ended_the_unit()
        assert await layer.db.fetchval("probe", "SELECT 1") == 1  # the pool replaced the connection
    finally:
        await layer.close()


CANCEL_REQUEST = (80877102).to_bytes(4, "big")  # a CancelRequest's code, after its length


class SilencingRelay:
    """A TCP relay to PostgreSQL that stops passing on a connection's statements from the first
    one holding `pattern` (the server never sees it, so never answers), and ends the silenced
    connections once the client asks to cancel: a server that stops answering one statement."""

    def __init__(self, host: str, port: int, pattern: bytes) -> None:
        self.target = (host, port)
        self.pattern = pattern
        self.silenced: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(*self.target)
        closing = [to_client, to_server]

        async def upstream() -> None:
            silent = False
            while data := await client.read(65536):
                silent = silent or self.pattern in data
                if silent:
                    if to_client not in self.silenced:
                        self.silenced.append(to_client)
                    continue
                to_server.write(data)
                await to_server.drain()
                if data[4:8] == CANCEL_REQUEST:
                    for writer in self.silenced:
                        writer.close()

        async def downstream() -> None:
            while data := await server.read(65536):
                to_client.write(data)
                await to_client.drain()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            pass
        finally:
            for writer in closing:
                writer.close()

    def accept(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self.handle(client, to_client))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


@contextlib.asynccontextmanager
async def silencing(dsn: str, pattern: bytes) -> AsyncIterator[tuple[str, SilencingRelay]]:
    """`dsn` rewritten to reach the server through a SilencingRelay, and the relay."""
    parts = urlsplit(dsn)
    relay = SilencingRelay(parts.hostname or "localhost", parts.port or 5432, pattern)
    server = await asyncio.start_server(relay.accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    credentials = parts.netloc.rpartition("@")[0]
    try:
        yield urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}")), relay
    finally:
        server.close()
        for task in list(relay.tasks):
            task.cancel()
        await asyncio.gather(*relay.tasks, return_exceptions=True)


async def test_an_exact_search_whose_setting_gets_no_answer_times_out_naming_the_similarity_search(
    fresh_database: Database, hang_guards: HangGuards
) -> None:
    async with silencing(fresh_database.dsn_as("bp_app"), b"enable_indexscan") as (dsn, relay):
        settings = hang_guards.pool(min_size=1, max_size=1, command_timeout=0.3)
        layer = await connect(dsn, settings, FAST_AUTH)
        try:
            vector = np.ones(layer.repos.embeddings.dimension or 768, dtype=np.float32)
            with pytest.raises(Timeout) as late:
                await layer.prompts.similar(vector, k=1, exact=True)
            assert relay.silenced, "the exact search's setting never reached the relay"
        finally:
            await layer.close()
    assert str(late.value) == "similarity search: no answer within the command timeout"
