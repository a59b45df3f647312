"""An import on behalf of a region (the API's uploads): rows outside the uploader's region refused.

`zhida import` on the command line imports everything (its operator owns the database); an
upload through the API carries its caller's region prefix, and a valid profile is refused —
as a row error, in the same report as the sheet's own errors — when storing it would write
outside that region:

- its own region (村（居）代码 / 所在地区代码) is outside it, or an enterprise has none;
- its 户编号 or credit code is stored already under a region outside it (the upload would
  overwrite another region's profile);
- a member is registered now in a household outside it (storing would move that person out of
  a household the uploader may not change — the rule `PUT /api/households/…` keeps too).

A refused household is refused whole, as the sheet refuses a household with one bad row. The
checks read the database inside the chunk's own transaction, so what they saw is what is
written.

    kept, refused = screen_households(session, "520602001001", chunk)
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from matcher.profiles.masking import mask_id
from sheets.enterprises import ValidEnterprise
from sheets.grouping import RowError
from sheets.households import ValidHousehold
from store.ingest.profiles import IN_LIST, rows_by_key
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow

__all__ = ["outside", "screen_enterprises", "screen_households"]

REGION_COLUMN = "村（居）代码"
MEMBER_ELSEWHERE = "此人登记在您辖区以外的户中：不能由您迁入本户，请由其所在地办理迁出"


def outside(region: str, code: str | None) -> bool:
    """Whether a region code lies outside the prefix `region` (no code: outside)."""
    return not code or not code.startswith(region)


def _not_yours(region: str, what: str) -> str:
    return f"不在您的辖区（{region}）：{what}"


def _holders(session: Session, numbers: list[str]) -> dict[str, tuple[str, str]]:
    """ID number → (household number, region) of the household each is registered in now."""
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(numbers), IN_LIST):
        rows = session.execute(
            select(col(MemberRow.id_number), col(HouseholdRow.household_no),
                   col(HouseholdRow.region_code))
            .join(HouseholdRow, col(HouseholdRow.id) == col(MemberRow.household_id))
            .where(col(MemberRow.id_number).in_(numbers[start : start + IN_LIST]))
        )  # fmt: skip
        found.update({n: (no, r) for n, no, r in rows.all()})
    return found


def _household_errors(
    region: str,
    valid: ValidHousehold,
    stored: str | None,
    holders: dict[str, tuple[str, str]],
) -> list[RowError]:
    h, first = valid.household, valid.rows[0]
    code = h.region_code or ""
    errors = []
    if outside(region, h.region_code):
        what = "应为您辖区内的村（居）代码"
        errors.append(RowError(first, REGION_COLUMN, code, _not_yours(region, what)))
    elif stored is not None and outside(region, stored):
        what = f"户编号 {valid.household_id} 已登记在您辖区以外的村（居）：不能由您改写"
        errors.append(RowError(first, REGION_COLUMN, code, _not_yours(region, what)))
    for position, member in enumerate(h.members):
        no, held_in = holders.get(member.id_number, (valid.household_id, region))
        if no != valid.household_id and outside(region, held_in):
            number = mask_id(member.id_number)
            errors.append(RowError(valid.rows[position], "身份证号", number, MEMBER_ELSEWHERE))
    return errors


def screen_households(
    session: Session, region: str, chunk: Sequence[ValidHousehold]
) -> tuple[list[ValidHousehold], list[RowError]]:
    """The households of `chunk` an upload for `region` may store, and the errors of the rest.

    Args:
        session: the chunk's transaction.
        region: the uploader's region prefix (digits).
        chunk: valid households of the sheet.

    Returns:
        The households kept, and one error per reason a household was refused.
    """
    numbers = [v.household_id for v in chunk]
    h = HouseholdRow
    stored = rows_by_key(session, col(h.household_no), numbers, col(h.household_no),
                         col(h.region_code))  # fmt: skip
    ids = sorted({m.id_number for v in chunk for m in v.household.members})
    holders = _holders(session, ids)
    kept, errors = [], []
    for valid in chunk:
        old = stored.get(valid.household_id)
        was = None if old is None else str(old["region_code"])
        found = _household_errors(region, valid, was, holders)
        errors += found
        if not found:
            kept.append(valid)
    return kept, errors


def screen_enterprises(
    session: Session, region: str, chunk: Sequence[ValidEnterprise]
) -> tuple[list[ValidEnterprise], list[RowError]]:
    """The enterprises of `chunk` an upload for `region` may store, and the rest's errors.

    Args:
        session: the chunk's transaction.
        region: the uploader's region prefix.
        chunk: valid enterprises of the sheet.

    Returns:
        The enterprises kept, and one error for each enterprise refused.
    """
    e = EnterpriseRow
    stored = rows_by_key(session, col(e.credit_code), [v.credit_code for v in chunk],
                         col(e.credit_code), col(e.region_code))  # fmt: skip
    kept, errors = [], []
    for v in chunk:
        where, old = v.enterprise.region_code, stored.get(v.credit_code)
        if outside(region, where):
            what = "应为您辖区内的区划代码" if where else "所在地区代码为空：应填您辖区内的区划代码"
            errors.append(RowError(v.row, "所在地区代码", where or "", _not_yours(region, what)))
        elif old is not None and outside(region, old["region_code"]):
            what = f"企业 {v.credit_code} 已登记在您辖区以外：不能由您改写"
            errors.append(RowError(v.row, "所在地区代码", where or "", _not_yours(region, what)))
        else:
            kept.append(v)
    return kept, errors
