"""The Redis keyspace contract (`schema/redis/keyspace.toml`): namespaces, key patterns, types,
TTLs, and the ACL users. Services build keys only through it; the suites check live Redis
against it."""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import ConfigurationError

RedisType = Literal["string", "hash", "set", "zset", "list", "stream"]
KEY_PART = re.compile(r"[A-Za-z0-9_.@-]{1,200}")  # use fullmatch: `$` would admit a trailing newline
KEY_PARTS = re.compile(r"[A-Za-z0-9_.@-]{1,200}(?:\n[A-Za-z0-9_.@-]{1,200})*")  # newline-joined parts


class Namespace(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    type: RedisType
    ttl: int | Literal["window"] | None = None
    sliding: bool = False
    description: str
    scopes: list[str] = []

    @cached_property
    def fields(self) -> frozenset[str]:
        """The pattern's placeholders, parsed once: keys are built on every Redis call."""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.pattern) if name)

    @cached_property
    def _single(self) -> tuple[str, str, str] | None:
        """(prefix, field, suffix) when the pattern has exactly one placeholder, else None."""
        if len(self.fields) != 1:
            return None
        [field] = self.fields
        prefix, _, suffix = self.pattern.partition("{" + field + "}")
        return prefix, field, suffix

    def refusal(self, parts: Mapping[str, object]) -> tuple[str, str] | None:
        """The first part that may not go into a key and why, or None. Each part must be a plain
        token, so no value can reach another namespace (`bp:session:x:bp:flag:y` is refused)."""
        for name, value in parts.items():
            if not isinstance(value, str) or not KEY_PART.fullmatch(value):
                return name, f"{value!r} is not a plain token for {self.pattern}"
        if self.scopes and "scope" in parts and parts["scope"] not in self.scopes:
            return "scope", f"{parts['scope']!r} is not one of {self.scopes} for {self.pattern}"
        return None

    def key(self, **parts: str) -> str:
        """The key for `parts`; a refused part is a ConfigurationError (the caller's code chose it)."""
        if refused := self.refusal(parts):
            raise ConfigurationError(f"key part {refused[0]}: {refused[1]}")
        return self.compose(parts)

    def compose(self, parts: Mapping[str, str]) -> str:
        """The key for parts `refusal` has passed."""
        if parts.keys() != self.fields:
            raise ConfigurationError(f"key {self.pattern} needs {sorted(self.fields)}, got {sorted(parts)}")
        return self.pattern.format_map(parts)

    def plain_keys(self, many: Sequence[Mapping[str, object]]) -> list[str] | None:
        """Keys for many parts at once when the pattern has one placeholder and every value is a
        plain token: one regex over the newline-joined values instead of one per value (batches
        build dozens). None otherwise; the caller then goes one by one and names the bad part."""
        if self._single is None:
            return None
        prefix, field, suffix = self._single
        values = [parts.get(field) for parts in many if len(parts) == 1]
        if len(values) != len(many) or not all(isinstance(v, str) for v in values):
            return None
        texts = [str(v) for v in values]
        if not KEY_PARTS.fullmatch("\n".join(texts)):
            return None
        return [prefix + text + suffix for text in texts]


class AclUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    dev_password: str


class Keyspace(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str
    namespaces: dict[str, Namespace]
    users: dict[str, AclUser] = {}

    def namespace(self, name: str) -> Namespace:
        try:
            return self.namespaces[name]
        except KeyError:
            raise ConfigurationError(f"no namespace {name!r} in the keyspace contract") from None


def load_keyspace(path: Path) -> Keyspace:
    try:
        data = tomllib.loads(path.read_text())
        keyspace = Keyspace.model_validate(data)
    except FileNotFoundError:
        raise ConfigurationError(f"keyspace contract {path} does not exist") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"keyspace contract {path} is invalid: {exc}") from exc
    for name, ns in keyspace.namespaces.items():
        if not ns.pattern.startswith(keyspace.prefix + ":"):
            raise ConfigurationError(f"{path}: namespace {name} pattern {ns.pattern} lacks prefix {keyspace.prefix}:")
    return keyspace
