"""Query budgets on the data layer's hot paths: a list page, recording an enhancement and similarity
search each cost a fixed number of statements and read a handful of rows, as the server counts
them (`query_budget`), so a lost index (a sequential scan of the table) or an N+1 fails here. The
tables hold enough rows, with statistics, that the planner prefers the indexes these paths are
built on. Each runs in a unit of work, whose one connection the budget watches."""

from __future__ import annotations

import uuid
from uuid import UUID

import numpy as np

from betterprompts_db.data.postgres import DataLayer
from harness.query_budget import QueryBudgets
from suites.betterprompts.crud.test_prompts import enhancement, register, unit

USERS = 40
PER_USER = 50
PAGE = 10
K = 10


async def saved_prompts_of_many_users(data: DataLayer, owner_data: DataLayer) -> UUID:
    """USERS users with PER_USER saved prompts each (2,000 rows); one of them."""
    users: list[UUID] = [(await register(data, f"budget{i}")).id for i in range(USERS)]
    rows = [{"user_id": u, "title": f"t{i}", "prompt_text": "p"} for u in users for i in range(PER_USER)]
    await owner_data.repos.saved_prompts.copy(rows)
    await owner_data.db.execute("prompts.saved_prompts", "ANALYZE prompts.saved_prompts")
    return users[7]


async def test_a_list_page_is_one_statement_reading_only_its_rows(
    data: DataLayer, owner_data: DataLayer, query_budget: QueryBudgets
) -> None:
    user = await saved_prompts_of_many_users(data, owner_data)
    async with data.db.transaction(user_id=user) as uow:
        # a keyset page reads its rows and one more (is there a next page?) off the user's index
        async with query_budget(on=uow.connection, statements=1, rows_read=PAGE + 1):
            first = await data.repos.saved_prompts.list(filters={"user_id": user}, limit=PAGE)
        async with query_budget(on=uow.connection, statements=1, rows_read=PAGE + 1):
            second = await data.repos.saved_prompts.list(filters={"user_id": user}, after=first.next, limit=PAGE)
    assert len({p.id for p in first.items + second.items}) == 2 * PAGE


async def test_recording_an_enhancement_costs_a_fixed_few_statements_and_rows(
    data: DataLayer, owner_data: DataLayer, query_budget: QueryBudgets
) -> None:
    user = await saved_prompts_of_many_users(data, owner_data)
    for _ in range(3):  # history of its own, and the technique counters exist
        await data.prompts.record_enhancement(enhancement(user))
    vector = unit(np.random.default_rng(3))
    # savepoint, history, embedding, a counter per technique (two), release; the two foreign keys
    # to auth.users and the two counters are one row each
    async with (
        data.db.transaction(user_id=user) as uow,
        query_budget(on=uow.connection, statements=6, rows_read=4) as budget,
    ):
        await data.prompts.record_enhancement(enhancement(user, embedding=vector))
    assert {t.table for t in budget.spent.tables} == {"auth.users", "analytics.technique_effectiveness"}


async def test_similarity_search_reads_k_rows_through_the_hnsw_index(
    data: DataLayer, owner_data: DataLayer, query_budget: QueryBudgets
) -> None:
    rng = np.random.default_rng(11)
    centers = [unit(rng) for _ in range(8)]
    owner = (await register(data, "simbudget")).id
    rows = [{"source_type": "template", "source_id": uuid.uuid4(), "user_id": owner, "intent": "reasoning",
             "embedding": unit(rng, centers[c]), "model_version": "t"}
            for c in range(8) for _ in range(125)]  # fmt: skip
    await owner_data.repos.embeddings.copy(rows)
    await owner_data.db.execute("prompts.embeddings", "ANALYZE prompts.embeddings")
    query = unit(rng, centers[3], spread=0.01)
    # savepoint, the search, release; without the index it would read all 1,000 rows
    async with owner_data.db.transaction() as uow, query_budget(on=uow.connection, statements=3, rows_read=K):
        found = await owner_data.prompts.similar(query, k=K)
    assert len(found) == K
