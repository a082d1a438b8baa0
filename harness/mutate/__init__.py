"""Mutation testing of the artifacts and the data layer: how many plausible mistakes the suites catch."""

from harness.mutate.mutants import MUTANTS, Mutant
from harness.mutate.runner import Outcome, mutate

__all__ = ["MUTANTS", "Mutant", "Outcome", "mutate"]
