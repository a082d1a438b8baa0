"""Isolation: a template per recipe hash, clones of it per test or per worker. (The run's
preparation, `harness.isolation.run`, is not imported here: it needs the settings model, which an
xdist worker does without.)"""

from harness.isolation.clones import ClonePool
from harness.isolation.recipe import Recipe, Seed, ServerFacts
from harness.isolation.state import RunState
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
    "template_name",
]
