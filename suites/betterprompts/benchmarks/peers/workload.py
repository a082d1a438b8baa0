"""The generated suite (copied as test_workload.py): PEERS_TESTS tests, each needing the schema
through the `db` fixture its tool's conftest gives (a psycopg connection, autocommit). `write`:
one INSERT and a SELECT that sees exactly that row, so a tool that leaks rows between tests fails;
`read`: one SELECT of an empty table; `none`: no database (the bare pytest the others are
measured above). The first test writes the time it started to PEERS_MARKER."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

VARIANT = os.environ["PEERS_VARIANT"]
HASH = "$2b$12$" + "a" * 53


@pytest.mark.parametrize("n", range(int(os.environ["PEERS_TESTS"])))
def test_workload(db: Any, n: int) -> None:
    if n == 0:
        Path(os.environ["PEERS_MARKER"]).write_text(repr(time.time()))
    if VARIANT == "write":
        db.execute(
            "INSERT INTO auth.users (email, username, password_hash) VALUES (%s, %s, %s)",
            [f"user{n}@example.com", f"user{n}", HASH],
        )
        assert db.execute("SELECT count(*) FROM auth.users").fetchone() == (1,)
    elif VARIANT == "read":
        assert db.execute("SELECT count(*) FROM auth.users").fetchone() == (0,)
