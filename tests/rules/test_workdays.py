"""Working days on the State Council's calendar: the 2025 National Day holiday and its adjusted
workdays, add/between consistency, the override file, and a year nobody knows refused."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from rules.errors import RuleError
from rules.workdays import (
    CalendarUnknown,
    WorkCalendar,
    add_workdays,
    check_holidays,
    is_workday,
    workdays_between,
)

POLICIES = Path(__file__).parents[2] / "policies"
runner = CliRunner()

# Test data in the file's shape, NOT the published 2027 schedule.
INVENTED_2027 = """\
years:
  2027:
    source: 测试用虚构安排（不是国务院通知）
    holidays:
      - 2027-01-01
      - {from: 2027-02-08, to: 2027-02-12}
    workdays:
      - 2027-02-13
"""


def test_the_2025_national_day_holiday_is_off_and_its_weekend_workdays_are_on() -> None:
    """Oct 1–8 2025 are days off; Sunday Sep 28 and Saturday Oct 11 are working days (调休)."""
    assert not any(is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert is_workday(date(2025, 9, 28)) and is_workday(date(2025, 10, 11))
    assert not is_workday(date(2025, 10, 12))  # an ordinary Sunday
    assert is_workday(date(2025, 10, 9))


def test_adding_working_days_jumps_the_holiday_and_lands_on_an_adjusted_saturday() -> None:
    """The day before the holiday + 1 → Oct 9; Friday Oct 10 + 1 → Saturday Oct 11."""
    assert add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday → Sunday workday
    assert add_workdays(date(2025, 10, 10), 1) == date(2025, 10, 11)
    assert add_workdays(date(2025, 9, 30), 0) == date(2025, 9, 30)


def test_counting_working_days_across_the_holiday() -> None:
    """(Sep 30, Oct 12] holds Oct 9, 10 and 11; the reverse span counts negative."""
    assert workdays_between(date(2025, 9, 30), date(2025, 10, 12)) == 3
    assert workdays_between(date(2025, 10, 12), date(2025, 9, 30)) == -3
    assert workdays_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


def test_a_negative_count_is_refused() -> None:
    """add_workdays counts forward only."""
    with pytest.raises(ValueError, match="≥ 0"):
        add_workdays(date(2025, 1, 6), -1)


DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 11, 30))


@settings(max_examples=80, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=20))
def test_add_and_between_agree(start: date, n: int) -> None:
    """n working days after `start` are exactly n working days away, and one of them."""
    end = add_workdays(start, n)
    assert workdays_between(start, end) == n
    assert n == 0 or is_workday(end)
    assert n == 0 or workdays_between(start, end - timedelta(days=1)) == n - 1


@settings(max_examples=60, deadline=None)
@given(DAYS, DAYS)
def test_between_is_antisymmetric_and_additive(a: date, b: date) -> None:
    """Counting back is the negative of counting forward; spans add up through the new year."""
    middle = date(2025, 12, 31)
    assert workdays_between(a, b) == -workdays_between(b, a)
    assert workdays_between(a, b) == workdays_between(a, middle) + workdays_between(middle, b)


@pytest.mark.parametrize("day", [date(2027, 1, 4), date(2003, 12, 31)])
def test_a_year_nobody_knows_is_refused_naming_it(day: date) -> None:
    """No guess: CalendarUnknown names the year and the file to add it to."""
    with pytest.raises(CalendarUnknown) as caught:
        is_workday(day)
    assert caught.value.year == day.year
    assert f"{day.year} 年的节假日安排未知" in str(caught.value)
    assert "holidays.yaml" in str(caught.value)


def test_a_deadline_running_into_next_year_is_refused() -> None:
    """Ten working days from 2026-12-28 reach 2027: refused, not guessed."""
    with pytest.raises(CalendarUnknown, match="2027"):
        add_workdays(date(2026, 12, 28), 10)


def test_the_projects_override_file_loads() -> None:
    """policies/holidays.yaml (an empty `years:` until a notice is published) is sound."""
    calendar = WorkCalendar.load(POLICIES)
    assert calendar.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_an_override_year_is_used_beyond_the_package(tmp_path: Path) -> None:
    """A year in the file: its days off, its adjusted workday, ordinary weekdays and weekends."""
    (tmp_path / "holidays.yaml").write_text(INVENTED_2027, encoding="utf-8")
    (tmp_path / "facts.yaml").write_text("facts: {}\n", encoding="utf-8")
    calendar = WorkCalendar.load(tmp_path)
    assert not calendar.is_workday(date(2027, 1, 1))
    assert not calendar.is_workday(date(2027, 2, 10))
    assert calendar.is_workday(date(2027, 2, 13))  # a Saturday workday
    assert not calendar.is_workday(date(2027, 2, 14))  # an ordinary Sunday
    assert calendar.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert calendar.workdays_between(date(2027, 2, 5), date(2027, 2, 15)) == 2


BAD_HOLIDAYS = [  # (text, line, col, part of the message)
    (INVENTED_2027.replace("- 2027-01-01", "- 2028-01-01"), 5, 9, "2028-01-01 不在 2027 年内"),
    (INVENTED_2027.replace("- 2027-02-13", "- 2027-02-10"), 8, 9, "既是放假日又是调休上班日"),
    (INVENTED_2027.replace("source:", "sauce:"), 3, 5, "unexpected key `sauce`"),
    (INVENTED_2027.replace("2027-02-13", "2027-02-30"), 8, 9, "日期 2027-02-30 不存在"),
]


@pytest.mark.parametrize(("text", "line", "col", "words"), BAD_HOLIDAYS)
def test_a_broken_override_file_is_named_at_file_line_col(
    tmp_path: Path, text: str, line: int, col: int, words: str
) -> None:
    """A date outside its year, a day both off and on, a typo, a date that does not exist."""
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    calendar, problems = check_holidays(path)
    assert calendar is None and problems
    assert (problems[0].location.line, problems[0].location.col) == (line, col)
    assert words in problems[0].message


def test_zhida_lint_checks_the_override_file(tmp_path: Path) -> None:
    """`zhida lint` over a catalogue reports its holidays.yaml; WorkCalendar.load refuses it."""
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    (root / "holidays.yaml").write_text(BAD_HOLIDAYS[0][0], encoding="utf-8")
    result = runner.invoke(app, ["lint", str(root)])
    assert result.exit_code == 1, result.output
    assert "holidays.yaml:5:9: error: 日期 2028-01-01 不在 2027 年内" in result.output
    with pytest.raises(RuleError):
        WorkCalendar.load(root)
