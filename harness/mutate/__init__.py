"""Mutation testing of the artifacts and the data layer: how many plausible mistakes the suites catch."""

from harness.mutate.runner import Mutant, Outcome, mutate

__all__ = ["Mutant", "Outcome", "mutate"]
