"""No SQL injection (RELIABILITY Q1): SQL is never built from values; hostile strings round-trip.

The lint parses every module of store/, cli/, api/ and jobs/ and refuses an f-string, a `%`
format, a `+` concatenation or a `.format()` passed to `text()`, `literal_column()` or
`exec_driver_sql()` (directly, or through a variable assigned in the same scope), unless the
call carries `# sql-safe: <reason>` on one of its lines or the line above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from matcher.profiles.identifiers import normalise_name
from matcher.profiles.parse import Household, Member
from store.db import read_session, write_session
from store.ingest.profiles import upsert_households
from store.tables.profiles import HouseholdRow, MemberRow
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2]
PACKAGES = ("store", "cli", "api", "jobs")
RAW_SQL = {"text", "literal_column", "exec_driver_sql"}
MARK = "# sql-safe:"


def _is_built(node: ast.expr | None) -> bool:
    """True for an f-string with fields, a `%` format, a `+` concatenation or `.format()`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Mod | ast.Add)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _scopes(tree: ast.Module) -> Iterator[ast.AST]:
    yield tree
    yield from (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


def _assigned(scope: ast.AST) -> dict[str, ast.expr]:
    """Names assigned a built string in this scope (the last assignment wins)."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and _is_built(node.value):
                found[target.id] = node.value
    return found


def unsafe_sql(source: str, name: str = "<source>") -> list[str]:
    """`name:line` of every raw-SQL call given a string built from values, without the mark."""
    lines = source.splitlines()
    tree = ast.parse(source, name)
    problems: set[str] = set()
    for scope in _scopes(tree):
        built = _assigned(scope)
        for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
            if _callee(call) not in RAW_SQL or not call.args:
                continue
            arg = call.args[0]
            if not (_is_built(arg) or (isinstance(arg, ast.Name) and arg.id in built)):
                continue
            around = lines[max(0, call.lineno - 2) : call.end_lineno or call.lineno]
            if not any(MARK in line for line in around):
                problems.add(f"{name}:{call.lineno}")
    return sorted(problems)


def test_no_module_builds_sql_text_from_values() -> None:
    """Every raw SQL string in store, cli, api and jobs is a constant or marked sql-safe."""
    problems = [
        problem
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for problem in unsafe_sql(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert problems == [], (
        "SQL built from values (use bound parameters, or add `# sql-safe: <reason>`): "
        + ", ".join(problems)
    )


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        pytest.param('text(f"SELECT * FROM t WHERE a = {x}")', True, id="an f-string"),
        pytest.param('sa.text("SELECT %s" % x)', True, id="a % format"),
        pytest.param('conn.exec_driver_sql("DROP TABLE " + x)', True, id="a concatenation"),
        pytest.param('literal_column("a{}".format(x))', True, id="str.format"),
        pytest.param('def f(x):\n    q = f"LOCK {x}"\n    text(q)', True, id="through a variable"),
        pytest.param('text("SELECT :a")', False, id="a constant with a bound parameter"),
        pytest.param('text(f"SELECT 1")', False, id="an f-string without fields"),
        pytest.param(f'text(f"DROP {{x}}")  {MARK} x is validated', False, id="marked"),
        pytest.param(f'{MARK} x is validated\ntext(f"DROP {{x}}")', False, id="marked above"),
    ],
)
def test_the_lint_flags_sql_built_from_values(source: str, flagged: bool) -> None:
    """Each way of building SQL from a value is flagged; constants and marked lines are not."""
    assert bool(unsafe_sql(source)) is flagged


HOSTILE = [
    "' OR '1'='1",
    "'); DROP TABLE household;--",
    "%",
    "_",
    "100%_done\\",
    "𠀀𪚥",  # Ext-B, outside the BMP
    "\u2f47光",  # Kangxi radical ⽇, NFKC → 日
    "买买提·艾力",
    "买买提•艾力",
    "买买提・艾力",
    "买买提．艾力",
]


def _households() -> list[tuple[Household, str]]:
    return [
        (
            Household(
                household_id=hostile,
                region_code="520602100201",
                members=[Member(id_number=make_ric(seq=2 * i + 1), name=hostile, relation="head")],
            ),
            f"hostile.xlsx row {i + 2}",
        )
        for i, hostile in enumerate(HOSTILE)
    ]


def test_hostile_strings_round_trip_verbatim_with_no_extra_rows(engine: Engine) -> None:
    """Hostile keys are stored verbatim and names as normalise_name gives them, one row each."""
    with write_session(engine) as session:
        upsert_households(session=session, households=[(_households()[0][0], "seed.xlsx row 2")])
    with write_session(engine) as session:
        first = upsert_households(session=session, households=_households())
    with write_session(engine) as session:
        again = upsert_households(session=session, households=_households())
    with read_session(engine) as session:
        stored = session.execute(
            select(HouseholdRow.household_no, MemberRow.name).join(
                MemberRow, MemberRow.household_id == HouseholdRow.id
            )
        ).all()
        count = session.execute(select(func.count()).select_from(HouseholdRow)).scalar_one()
        for hostile in HOSTILE:  # a filter by each key finds its own row only
            where = HouseholdRow.household_no == hostile
            assert session.execute(select(func.count()).where(where)).scalar_one() == 1
    assert (first.inserted, first.unchanged, again.unchanged) == (len(HOSTILE) - 1, 1, len(HOSTILE))
    assert count == len(HOSTILE)
    assert sorted(stored) == sorted((h, normalise_name(h)) for h in HOSTILE)
    assert {normalise_name(h) for h in HOSTILE[-4:]} == {"买买提·艾力"}
    assert normalise_name(HOSTILE[6]) == "日光" and normalise_name(HOSTILE[5]) == "𠀀𪚥"
