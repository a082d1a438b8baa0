"""Values a column's CHECK constraints admit, read from the constraints themselves: a generic row
generator cannot guess `email ~ '^[^@]+@…$'` or `technique = ANY (public.technique_names())`, but
the constraint says it. Three shapes are understood, on a column alone (the ones schemas write):

- `col ~ 'regex'` (or `~*`): a string the regex matches, made by exrex;
- `col = ANY (array)` (how PostgreSQL stores `col IN (…)`, and a function returning the choices):
  the array's elements, evaluated on the server;
- `col <@ array` (an array column drawn from a set): the array's first element, alone;
- `col >= n` (`>`, `<=`, `<`, and so `BETWEEN`) with an integer `n`: integers within the bounds.

Anything else is left to the generator's type-driven values and its retries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg
import exrex
import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind
from pglast.stream import RawStream
from pglast.visitors import Visitor

REPEAT_LIMIT = 12  # characters an unbounded `+` or `*` of a regex stands for


@dataclass
class Choices:
    """What one column's CHECK constraints admit."""

    regexes: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # one of these (text form)
    subset: str | None = None  # an array literal for `<@`
    low: int | None = None  # inclusive integer bounds
    high: int | None = None

    def pick(self, serial: int) -> str | None:
        """A value for row `serial`: a listed one (cycling), a subset, a string the first regex
        matches (strings vary by row, so unique columns take them), or an integer in bounds."""
        if self.values:
            return self.values[serial % len(self.values)]
        if self.subset is not None:
            return self.subset
        if self.regexes:
            return str(exrex.getone(self.regexes[0], REPEAT_LIMIT))
        if self.low is None and self.high is None:
            return None
        low = self.low if self.low is not None else min(1, self.high or 0)
        high = self.high if self.high is not None else low + 4
        return str(low + serial % (high - low + 1)) if high >= low else None

    def bound(self, operator: str, limit: int) -> None:
        if operator in (">=", ">"):
            self.low = max(self.low if self.low is not None else limit, limit + (operator == ">"))
        else:
            self.high = min(self.high if self.high is not None else limit, limit - (operator == "<"))


class _Finder(Visitor):
    """Collects `(column, operator, right-hand side)` of the shapes above."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, ast.Node]] = []

    def visit_A_Expr(self, ancestors: object, node: ast.A_Expr) -> None:
        left, right = node.lexpr, node.rexpr
        if not isinstance(left, ast.ColumnRef) or not left.fields or len(left.fields) != 1:
            return
        if not isinstance(right, ast.Node):  # a list: `col IN (…)` is stored as `= ANY (ARRAY[…])`
            return
        column, operator = str(left.fields[0].sval), str(node.name[-1].sval) if node.name else ""
        if node.kind == A_Expr_Kind.AEXPR_OP_ANY and operator == "=":
            self.found.append((column, "any", right))
        elif node.kind == A_Expr_Kind.AEXPR_OP and operator in ("~", "~*", "<@", ">=", ">", "<=", "<"):
            self.found.append((column, operator, right))


async def check_choices(conn: asyncpg.Connection, definitions: Iterable[str]) -> dict[str, Choices]:
    """Per column name, what the CHECK constraints `definitions` (pg_get_constraintdef) admit."""
    choices: dict[str, Choices] = {}
    for definition in definitions:
        finder = _Finder()
        finder(pglast.parse_sql("SELECT " + definition.removeprefix("CHECK ").removesuffix(" NOT VALID")))
        for column, operator, right in finder.found:
            target = choices.setdefault(column, Choices())
            if operator in ("~", "~*"):
                if (pattern := _string(right)) is not None:
                    target.regexes.append(pattern)
            elif operator in (">=", ">", "<=", "<"):
                if (limit := _integer(right)) is not None:
                    target.bound(operator, limit)
            elif operator == "any":
                target.values = await _evaluate(conn, f"SELECT x::text FROM unnest({RawStream()(right)}) x")
            else:
                found = await _evaluate(conn, f"SELECT (({RawStream()(right)})[1:1])::text")
                target.subset = found[0] if found else None
    return choices


def _string(node: ast.Node) -> str | None:
    value = node.arg if isinstance(node, ast.TypeCast) else node
    if isinstance(value, ast.A_Const) and isinstance(value.val, ast.String):
        return str(value.val.sval)
    return None


def _integer(node: ast.Node) -> int | None:
    value = node.arg if isinstance(node, ast.TypeCast) else node
    if isinstance(value, ast.A_Const) and isinstance(value.val, ast.Integer):
        return int(value.val.ival or 0)  # libpg_query leaves a 0 out
    return None


async def _evaluate(conn: asyncpg.Connection, query: str) -> list[str]:
    """The text values `query` returns; none when it refers to anything but constants (a column
    of another row, say) and so fails."""
    try:
        async with conn.transaction():
            return [row[0] for row in await conn.fetch(query) if row[0] is not None]
    except asyncpg.PostgresError:
        return []
