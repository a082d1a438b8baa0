"""Redis mutants generated from the shipped artifacts: each directive of redis.conf set to a
plausible wrong value, each rule of each ACL user in users.acl removed (a `-` rule removed widens
the user; a key or channel pattern is also widened to `*`), each namespace's TTL in keyspace.toml
ten times too long, ten times too short, or gone, and its sliding flag flipped.

A mutant is an edit of one artifact's text (a span replaced); the run writes the mutated copy and
points the settings at it (HARNESS_REDIS_CONFIG, HARNESS_REDIS_ACL, HARNESS_REDIS_KEYSPACE), so a
server started for it reads the mistake exactly as it would read the shipped file. Edits of one
artifact that do not overlap can be applied together (a batch of the confirmation).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from harness.config import Settings
from harness.mutate.generated import Edit, GeneratedMutant, RedisArtifact
from harness.redis_config import SET_BY_BACKEND

# directive → the plausible wrong value; any other yes/no flips, any other number becomes 0
WRONG_VALUES = {
    "maxmemory-policy": "allkeys-lru",
    "appendfsync": "no",
    "save": '""',
    "maxmemory": "0",
    "maxclients": "100",
    "databases": "1",
    "loglevel": "warning",
    "appendfilename": '"appendonly-other.aof"',
    "dbfilename": "other.rdb",
    "slowlog-log-slower-than": "-1",
}
NUMBER = re.compile(r"-?\d+[a-z]*", re.IGNORECASE)


def _mutant(kind: str, obj: str, change: str, description: str, artifact: RedisArtifact, edit: Edit,
            *mentions: str) -> GeneratedMutant:  # fmt: skip
    return GeneratedMutant(
        id=f"{kind}:{obj}:{change}", source="redis", kind=kind, object=obj, description=description,
        artifact=artifact, edits=(edit,), mentions=tuple(mentions), key=(artifact, obj, change),
    )  # fmt: skip


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without its newline) of every line."""
    found, offset = [], 0
    for line in text.splitlines(keepends=True):
        found.append((offset, line.rstrip("\n")))
        offset += len(line)
    return found


def config_mutants(path: Path) -> list[GeneratedMutant]:
    mutants = []
    for offset, line in _lines(path.read_text()):
        directive, _, value = line.strip().partition(" ")
        directive = directive.lower()
        if not directive or directive.startswith("#") or directive == "user":
            continue
        if directive in SET_BY_BACKEND - {"protected-mode"}:
            continue
        wrong = wrong_value(directive, value.strip())
        if wrong is None:
            continue
        start = offset + line.index(value)
        mutants.append(_mutant(
            "config", directive, "wrong", f"redis.conf: {directive} {wrong} instead of {value.strip()}", "redis_config",
            (start, offset + len(line), wrong), directive, directive.replace("-", "_"),
        ))  # fmt: skip
    return mutants


def wrong_value(directive: str, value: str) -> str | None:
    if directive in WRONG_VALUES:
        return WRONG_VALUES[directive]
    if value.lower() in ("yes", "no"):
        return "no" if value.lower() == "yes" else "yes"
    if NUMBER.fullmatch(value):
        return "0"
    return None


def acl_mutants(path: Path) -> list[GeneratedMutant]:
    mutants = []
    for offset, line in _lines(path.read_text()):
        words = line.split()
        if len(words) < 3 or words[0] != "user":
            continue
        user = words[1]
        for match in re.finditer(r" (\S+)", line):
            rule = match.group(1)
            if match.start() < line.index(user) + len(user):
                continue  # `user` and the name
            shown = "#password" if rule.startswith(("#", ">")) else rule
            start, end = offset + match.start(), offset + match.end()
            variants = [("remove", (start, end, ""), "widened" if rule[0] == "-" else "lost")]
            if rule[0] in "~&" and rule[1:] != "*":
                variants.append(("widen", (start + 1, end, rule[0] + "*"), "widened"))
            for change, edit, effect in variants:
                what = f"users.acl: {user} without {shown}" if change == "remove" else f"users.acl: {user} {rule} → *"
                mutants.append(_mutant("acl", f"{user}.{shown}", change, f"{what} ({effect})", "redis_acl", edit, user,
                                       *_command_names(rule)))  # fmt: skip
    return mutants


def _command_names(rule: str) -> list[str]:
    """The command a rule names (`-flushall` → flushall, `+script|load` → script), and of the
    categories only @dangerous (the others are common words)."""
    if not rule.startswith(("+", "-")):
        return []
    name = rule[1:].split("|")[0]
    return [name.lstrip("@")] if name == "@dangerous" or re.fullmatch(r"[a-z_]+", name) else []


def keyspace_mutants(path: Path) -> list[GeneratedMutant]:
    text = path.read_text()
    contract = tomllib.loads(text)
    mutants = []
    for name, namespace in contract.get("namespaces", {}).items():
        section = re.search(rf"^\[namespaces\.{re.escape(name)}\]\n(?:(?!\[).*\n?)*", text, re.MULTILINE)
        if section is None:
            continue
        literal = [w for w in namespace["pattern"].split(":")[1:] if not w.startswith("{")]
        mentions = (name, ".".join(literal))
        ttl = namespace.get("ttl")
        changes: list[tuple[str, str, str | None, str]] = []
        if isinstance(ttl, int):
            shorter = max(ttl // 10, 1)
            changes += [("x10", "ttl", f"ttl = {ttl * 10}", f"{ttl * 10} s instead of {ttl} s"),
                        ("div10", "ttl", f"ttl = {shorter}", f"{shorter} s instead of {ttl} s")]  # fmt: skip
        elif ttl is not None:
            changes.append(("fixed", "ttl", "ttl = 60", f"a fixed 60 s instead of {ttl!r}"))
        if ttl is not None:
            changes.append(("none", "ttl", None, f"no expiry instead of {ttl!r}"))
        if namespace.get("sliding"):
            changes.append(("not-sliding", "sliding", "sliding = false", "a fixed expiry instead of a sliding one"))
        for change, field, line, what in changes:
            found = re.search(rf"^{field} = .*\n?", section.group(0), re.MULTILINE)
            if found is None:
                continue
            edit = (section.start() + found.start(), section.start() + found.end(), "" if line is None else line + "\n")
            mutants.append(_mutant("ttl", name, change, f"keyspace.toml: {namespace['pattern']} {what}",
                                   "redis_keyspace", edit, *mentions))  # fmt: skip
    return mutants


def redis_mutants(settings: Settings) -> list[GeneratedMutant]:
    """Every Redis mutant of the artifacts `settings` names (those that exist)."""
    mutants: list[GeneratedMutant] = []
    if settings.redis_config.is_file():
        mutants += config_mutants(settings.redis_config)
    if settings.redis_acl.is_file():
        mutants += acl_mutants(settings.redis_acl)
    if settings.redis_keyspace.is_file():
        mutants += keyspace_mutants(settings.redis_keyspace)
    return mutants
