"""No database: the same tests on a bare pytest."""

import pytest


@pytest.fixture
def db() -> None:
    return None
