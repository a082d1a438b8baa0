"""The replica's lag during a load run, sampled on the primary's pg_stat_replication by the master
(or the only process) every SAMPLE_SECONDS: logged as p50/max at the end and written beside the
CSV files as PREFIX_replica_lag.json."""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import psycopg

from harness.provision.replica import LAG_SQL

SAMPLE_SECONDS = 0.5
logger = logging.getLogger("loadtests")


@dataclass
class LagSampler:
    """Samples until stopped; `summary()` is p50 and max of bytes behind and of replay_lag."""

    primary_dsn: str
    bytes_behind: list[int] = field(default_factory=list)
    replay_ms: list[float] = field(default_factory=list)
    greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self.greenlet = gevent.spawn(self._sample)

    def _sample(self) -> None:
        with psycopg.connect(self.primary_dsn, autocommit=True, connect_timeout=5) as conn:
            while True:
                row = conn.execute(LAG_SQL).fetchone()
                if row is not None:
                    self.bytes_behind.append(int(row[0] or 0))
                    if row[1] is not None:
                        self.replay_ms.append(float(row[1]) * 1000)
                gevent.sleep(SAMPLE_SECONDS)  # a sampling interval, not a wait for anything

    def stop(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill()

    def summary(self) -> dict[str, Any]:
        def p50_max(values: list[float]) -> dict[str, float] | None:
            return {"p50": statistics.median(values), "max": max(values)} if values else None

        return {
            "samples": len(self.bytes_behind),
            "bytes_behind": p50_max([float(b) for b in self.bytes_behind]),
            "replay_lag_ms": p50_max(self.replay_ms),
        }

    def report(self, csv_prefix: str | None) -> None:
        summary = self.summary()
        logger.info("replica lag: %s", json.dumps(summary))
        if csv_prefix:
            Path(f"{csv_prefix}_replica_lag.json").write_text(json.dumps(summary, indent=2) + "\n")
