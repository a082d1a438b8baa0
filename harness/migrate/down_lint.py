"""Down files that lose data, found statically: `DROP TABLE`, `ALTER TABLE … DROP COLUMN`,
`TRUNCATE` and `DELETE` in a down throw rows away, which `verify` (a catalog comparison) cannot
see. Each is a finding naming what is lost, read with PostgreSQL's own parser (pglast); statements
inside a DO block or a function are not read.

A down that loses data on purpose (it drops what its up created) says so in its first lines:
`-- harness:loses-data <reason>`. The reason is required, so the silence is explained where the
next reader looks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from harness.errors import LintFailed
from harness.migrate.files import HEADER_LINES, Migration, Script
from harness.migrate.lint import Finding
from harness.migrate.sql import line_of, split_statements

LOSES_DATA = "-- harness:loses-data"
RULE = "loses data"
COMMENTS = ("SQL_COMMENT", "C_COMMENT")


def lint_downs(migrations: Sequence[Migration]) -> list[Finding]:
    """What each down file of `migrations` loses, unless its header says why it may; a marker
    without a reason is an error naming the file."""
    return [finding for m in migrations if not _silenced(m.down) for finding in data_losses(m.down)]


def _silenced(script: Script) -> bool:
    for line in script.sql.lstrip().splitlines()[:HEADER_LINES]:
        text = line.strip()
        if text.lower().startswith(LOSES_DATA):
            if not text[len(LOSES_DATA) :].strip():
                raise LintFailed(
                    f"{script.path}: `{LOSES_DATA}` needs a reason: `{LOSES_DATA} drops the tables its up creates`"
                )
            return True
    return False


def data_losses(script: Script) -> list[Finding]:
    """A finding per thing a statement of `script` throws away, at the statement's first line. A
    script the parser cannot read has none here: running it reports the error."""
    findings = []
    for offset, text in split_statements(script.sql):
        try:
            statements = pglast.parse_sql(text)
        except pglast.parser.ParseError:
            continue
        start = next((t.start for t in pglast.parser.scan(text) if t.name not in COMMENTS), 0)
        line = line_of(script.sql, offset + len(text.encode()[:start].decode(errors="ignore")))
        for raw in statements:
            findings += [Finding(str(script.path), line, RULE, loss) for loss in _losses(raw.stmt)]
    return findings


def _losses(statement: ast.Node | None) -> Iterator[str]:
    if isinstance(statement, ast.DropStmt) and statement.removeType == ObjectType.OBJECT_TABLE:
        for name in statement.objects or ():
            yield f"drops table {'.'.join(part.sval for part in name)}"
    elif isinstance(statement, ast.AlterTableStmt) and statement.relation is not None:
        for command in statement.cmds or ():
            if isinstance(command, ast.AlterTableCmd) and command.subtype == AlterTableType.AT_DropColumn:
                yield f"drops column {_name(statement.relation)}.{command.name}"
    elif isinstance(statement, ast.TruncateStmt):
        for relation in statement.relations or ():
            yield f"truncates table {_name(relation)}"
    elif isinstance(statement, ast.DeleteStmt) and statement.relation is not None:
        yield f"deletes rows from {_name(statement.relation)}"


def _name(relation: ast.RangeVar) -> str:
    return ".".join(part for part in (relation.schemaname, relation.relname) if part)
