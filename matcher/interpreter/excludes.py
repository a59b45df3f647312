"""`excludes`: of eligible policies that cannot be enjoyed together, keep the larger amount.

The rule, for known amounts: take the eligible policies in order of (−amount, id) — the larger
amount first, a tie to the smaller id — and keep each unless a partner was kept before it; a
policy not kept is dropped for its smallest-id kept partner.

An amount not yet known is a range of fen (`PolicyResult.amount_bounds`), never 0: every order
of a group of partners that some amounts within their ranges produce is tried, and a policy
whose fate differs between them is undetermined ("which one is kept is not yet decidable"),
asking for the facts its partners' amounts need. Both engines call `resolve` (the vectorised
one for the rows where it matters), so they agree by construction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from matcher.interpreter.results import PolicyResult
from rules.numbers import to_fen_int

__all__ = ["MAX_GROUP", "drop", "partner_map", "resolve", "resolve_pairs", "undecided"]

MAX_GROUP = 7  # partners whose orders are tried one by one (7! = 5,040 orders at most)
Fate = str | None  # None: kept; else the id of the policy kept instead


@dataclass(frozen=True)
class _Contender:
    id: str
    low: int | None  # fen; None: unbounded
    high: int | None
    missing: tuple[str, ...]


def drop(result: PolicyResult, winner_id: str, winner_title: str) -> PolicyResult:
    """`result` dropped under `excludes` in favour of the policy kept."""
    return replace(
        result,
        status="ineligible",
        dropped_for=winner_id,
        note=f"与「{winner_title}」不可同时享受，保留金额较高的「{winner_title}」",
    )


def undecided(result: PolicyResult, partners: list[str], missing: Iterable[str]) -> PolicyResult:
    """`result` made undetermined: which of it and its partners is kept cannot be decided yet."""
    names = "」「".join(partners)
    return replace(
        result,
        status="undetermined",
        amount=None,
        amount_bounds=None,
        missing=tuple(sorted(set(result.missing) | set(missing))),
        note=f"与「{names}」不可同时享受，金额尚未确定，暂无法判断保留哪一项",
    )


def resolve(
    results: Iterable[PolicyResult], excludes: Callable[[str], Iterable[str]]
) -> list[PolicyResult]:
    """Apply `excludes` to one subject's results (any order; returned in the same order).

    Args:
        results: every policy's own result, before `excludes`.
        excludes: the ids a policy declares it excludes (either side may declare a pair).
    """
    items = list(results)
    return resolve_pairs(items, partner_map([r.policy_id for r in items], excludes))


def partner_map(
    ids: Iterable[str], excludes: Callable[[str], Iterable[str]]
) -> dict[str, set[str]]:
    """Each id's partners under `excludes` among `ids` (either side may declare a pair)."""
    pairs: dict[str, set[str]] = {pid: set() for pid in ids}
    for pid in pairs:
        for other in excludes(pid):
            if other in pairs and other != pid:
                pairs[pid].add(other)
                pairs[other].add(pid)
    return pairs


def resolve_pairs(items: list[PolicyResult], pairs: Mapping[str, set[str]]) -> list[PolicyResult]:
    """`resolve` with the partners already worked out (`partner_map` over the same ids)."""
    # only policies with a partner can be in a group (`_groups`)
    contenders = {
        r.policy_id: _contender(r) for r in items if r.status == "eligible" and pairs[r.policy_id]
    }
    if not any(pairs[pid] & contenders.keys() for pid in contenders):
        return items
    by_id = {r.policy_id: r for r in items}
    out: dict[str, PolicyResult] = {}
    for group in _groups(contenders, pairs):
        fates = _fates([contenders[g] for g in group], pairs)
        unknown = [c for g in group if (c := contenders[g]).low != c.high or c.low is None]
        for pid in group:
            outcomes = fates[pid]
            if len(outcomes) > 1:
                partners = sorted(pairs[pid] & set(group))
                asked = {m for c in unknown if c.id != pid for m in c.missing}
                titles = [by_id[p].title for p in partners]
                out[pid] = undecided(by_id[pid], titles, asked | set(by_id[pid].missing))
            elif (winner := next(iter(outcomes))) is not None:
                out[pid] = drop(by_id[pid], winner, by_id[winner].title)
    return [out.get(r.policy_id, r) for r in items]


def _contender(r: PolicyResult) -> _Contender:
    if r.amount is not None:
        fen = to_fen_int(r.amount)
        return _Contender(r.policy_id, fen, fen, ())
    if r.amount_bounds is None:  # a policy without an amount (a service) counts as 0
        return _Contender(r.policy_id, 0, 0, ())
    low, high = r.amount_bounds
    return _Contender(
        r.policy_id,
        None if low is None else to_fen_int(low),
        None if high is None else to_fen_int(high),
        r.missing,
    )


def _groups(contenders: Mapping[str, _Contender], pairs: Mapping[str, set[str]]) -> list[list[str]]:
    """Connected groups (two or more) of eligible policies linked by `excludes`, ids sorted."""
    seen: set[str] = set()
    groups = []
    for start in sorted(contenders):
        if start in seen or not (pairs[start] & contenders.keys()):
            continue
        group, stack = set(), [start]
        while stack:
            pid = stack.pop()
            if pid not in group:
                group.add(pid)
                stack.extend(p for p in pairs[pid] if p in contenders)
        seen |= group
        groups.append(sorted(group))
    return groups


def _fates(group: list[_Contender], pairs: Mapping[str, set[str]]) -> dict[str, set[Fate]]:
    """Every fate each policy of `group` meets over the orders its amounts can produce."""
    fates: dict[str, set[Fate]] = {c.id: set() for c in group}
    known = all(c.low is not None and c.low == c.high for c in group)
    if known:
        orders: Iterable[tuple[_Contender, ...]] = [
            tuple(sorted(group, key=lambda c: (-(c.low or 0), c.id)))
        ]
    elif len(group) > MAX_GROUP:
        return {c.id: {None, ""} for c in group}  # too many to try: undecided
    else:
        orders = (o for o in itertools.permutations(group) if _possible(o))
    for order in orders:
        kept: set[str] = set()
        for c in order:
            winner = next((p for p in sorted(pairs[c.id]) if p in kept), None)
            fates[c.id].add(winner)
            if winner is None:
                kept.add(c.id)
    return fates


def _possible(order: tuple[_Contender, ...]) -> bool:
    """Whether amounts within the ranges (whole fen) sort the group exactly as `order`.

    Walking from the last (smallest) up, each amount takes the least value it may: at least its
    own low end, and at least the next one's (plus a fen when that one's id is smaller, since
    a tie goes to the smaller id); the order is possible if that never passes a high end.
    """
    least: int | None = None  # None: as low as one likes
    after_id: str | None = None
    for c in reversed(order):
        if least is not None and after_id is not None:
            least = least + (1 if after_id < c.id else 0)
        least = c.low if least is None else (least if c.low is None else max(least, c.low))
        if least is not None and c.high is not None and least > c.high:
            return False
        after_id = c.id
    return True
