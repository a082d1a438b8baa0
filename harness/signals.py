"""SIGTERM raised as an interrupt, so that a command or a run that is terminated (a CI job
cancelled, `kill`, a timeout) leaves through its `finally` blocks and stops what it started."""

from __future__ import annotations

import signal


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def interrupt_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
