"""SQL text handling the runner needs: splitting a script into statements, locating an error."""

from __future__ import annotations

import re

DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")


def split_statements(sql: str) -> list[tuple[int, str]]:
    """Top-level statements with their offsets; quotes, dollar quotes and comments are respected."""
    statements: list[tuple[int, str]] = []
    start = i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif ch in ("'", '"'):
            i = _skip_quoted(sql, i, ch)
        elif ch == "$" and (tag := DOLLAR_TAG.match(sql, i)) is not None:
            end = sql.find(tag.group(), tag.end())
            i = n if end < 0 else end + len(tag.group())
        elif ch == ";":
            _append(statements, sql, start, i)
            start = i = i + 1
        else:
            i += 1
    _append(statements, sql, start, n)
    return statements


def _append(statements: list[tuple[int, str]], sql: str, start: int, end: int) -> None:
    text = sql[start:end]
    if _has_code(text):
        statements.append((start, text))


def _has_code(text: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    return bool(without_comments.strip())


def _skip_block_comment(sql: str, i: int) -> int:
    depth = 0
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    i += 1
    n = len(sql)
    while i < n:
        if sql[i] == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def line_of(sql: str, offset: int) -> int:
    """1-based line of a 0-based character offset."""
    return sql.count("\n", 0, max(0, min(offset, len(sql)))) + 1
