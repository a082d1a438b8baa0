"""Isolation: a template per recipe hash, clones of it per test or per worker."""

from harness.isolation.clones import ClonePool
from harness.isolation.recipe import Recipe, Seed, ServerFacts
from harness.isolation.run import RunState, prepare_run
from harness.isolation.template import clone_database, ensure_template, template_name
from harness.provision.databases import create_database, drop_database

__all__ = [
    "ClonePool",
    "Recipe",
    "RunState",
    "Seed",
    "ServerFacts",
    "clone_database",
    "create_database",
    "drop_database",
    "ensure_template",
    "prepare_run",
    "template_name",
]
