"""The cold start's order: what the first `pg_conn` test does not need is not loaded on its way,
and the embedded backend starts postgres before it loads the domain's plug-in, without leaving a
server behind when what comes after fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.config import Settings
from harness.errors import ConfigurationError
from harness.provision import open_environment
from suites.engine.provision.remains import ROOT, marked_servers


def test_loading_the_pytest_plugin_loads_neither_redis_py_nor_the_insight_capture() -> None:
    script = (
        "import sys, harness.pytest_plugin\n"
        "print(sorted(m for m in ('redis', 'harness.insight.capture') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_insight_names_still_load_on_first_use() -> None:
    import harness.insight as insight
    from harness.insight.capture import write_insight

    assert insight.write_insight is write_insight
    with pytest.raises(AttributeError):
        _ = insight.no_such_name


async def test_redis_credentials_that_fail_after_postgres_started_leave_no_server(isolated_settings: Settings) -> None:
    if isolated_settings.backend != "embedded":
        pytest.skip("the embedded backend's start order")
    if not isolated_settings.redis_acl.is_file():
        pytest.skip("no ACL file: Redis needs no admin credentials")
    settings = isolated_settings.model_copy(update={"redis_admin_user": ""})  # known only once postgres was started
    with pytest.raises(ConfigurationError, match="redis_admin_user"):
        await open_environment(settings)
    assert marked_servers(settings.state_dir) == []
    assert not settings.state_dir.exists() or not any(settings.state_dir.iterdir())
