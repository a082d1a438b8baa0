"""Isolation: a template per artifact hash, clones of it per test or per worker."""

from harness.isolation.clones import ClonePool
from harness.isolation.run import RunState, prepare_run
from harness.isolation.template import clone_database, drop_database, ensure_template, template_name

__all__ = [
    "ClonePool",
    "RunState",
    "clone_database",
    "drop_database",
    "ensure_template",
    "prepare_run",
    "template_name",
]
