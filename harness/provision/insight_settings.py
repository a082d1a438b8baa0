"""Server settings that let a run see what the database did (`harness.insight`): statement
statistics, plans of slow statements, lock waits, in a log the run can read back over SQL.

The log is jsonlog (one JSON object a line, parseable, multi-line plans included) beside the
usual stderr text, both written by the logging collector into the data directory's `log/`, one
file per server start (no rotation), so a run reads its part from the offset it noted at its start
with `pg_read_file`: no file access, the same on every backend.
"""

from __future__ import annotations

PRELOADED = "pg_stat_statements,auto_explain"


def insight_settings(explain_ms: int) -> dict[str, str]:
    """The settings of a server the harness starts; `explain_ms`: auto_explain's threshold."""
    return {
        "shared_preload_libraries": PRELOADED,
        "logging_collector": "on",
        "log_destination": "stderr,jsonlog",
        "log_directory": "log",
        "log_filename": "postgresql-%Y%m%d-%H%M%S",
        "log_rotation_age": "0",
        "log_rotation_size": "0",
        "log_lock_waits": "on",  # a wait past deadlock_timeout (1 s), with who holds the lock
        "auto_explain.log_min_duration": f"{explain_ms}ms",
        "auto_explain.log_format": "json",
        "auto_explain.log_analyze": "on",  # needed for buffers; row counts only, per-node timing off
        "auto_explain.log_timing": "off",
        "auto_explain.log_buffers": "on",
        "auto_explain.log_parameter_max_length": "0",  # bind values (a password hash, say) stay out of the log
    }
