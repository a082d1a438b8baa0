"""The engine's command-line fixtures, for the commands and the demo BetterPrompts adds."""

from suites.engine.cli.conftest import state_env

__all__ = ["state_env"]
