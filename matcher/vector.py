"""The vectorised engine: every policy over a whole population chunk at once.

Same semantics as the interpreter (docs/rule-language.md): three-valued per condition, missing
facts, amounts, region scope and dates, `excludes` and bundle gates. It is the engine of every
batch; `results(row)` turns one row back into the interpreter's `PolicyResult`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from matcher.arrays import Array, F, Masks, T, U, evaluate, evaluate_missing, mask_names
from matcher.columns import Population
from matcher.interpreter import (
    ConditionResult,
    PolicyResult,
    base_result,
    drop,
    scope_result,
    with_amount,
)
from matcher.interpreter import Status as StatusName
from matcher.program import Program
from rules.catalogue import BoundPolicy, Catalogue, CompiledPolicy

Status = npt.NDArray[np.uint8]
STATUS_NAMES: dict[int, StatusName] = {
    int(F): "ineligible",
    int(U): "undetermined",
    int(T): "eligible",
}


@dataclass
class VectorCatalogue:
    """The catalogue's policies of one subject kind, bound at one date, as one program."""

    catalogue: Catalogue
    on: date
    subject: str
    policies: list[CompiledPolicy]
    program: Program = field(default_factory=Program)
    conditions: list[list[int]] = field(default_factory=list)
    amounts: list[int | None] = field(default_factory=list)
    gates: dict[str, int] = field(default_factory=dict)
    bound: list[BoundPolicy | None] = field(default_factory=list)

    @property
    def active(self) -> list[bool]:
        """Whether each policy is in force with every parameter valued on the date."""
        return [b is not None for b in self.bound]

    @property
    def ids(self) -> list[str]:
        """Policy ids, in column order."""
        return [p.id for p in self.policies]


def compile_catalogue(catalogue: Catalogue, on: date, subject: str) -> VectorCatalogue:
    """Compile every policy (and bundle gate) of `subject` kind, bound at `on`."""
    vc = VectorCatalogue(catalogue, on, subject, catalogue.for_subject(subject))
    for policy in vc.policies:
        bound = policy.bind(on) if policy.in_force(on) else None
        vc.bound.append(bound)
        conds = bound.conditions if bound is not None else ()
        vc.conditions.append([vc.program.compile(c.expr) for c in conds])
        amount = bound.amount if bound is not None else None
        vc.amounts.append(vc.program.compile(amount) if amount is not None else None)
    vc.program.bit("region_code")
    for bundle_id, bundle in sorted(catalogue.bundles.items()):
        if bundle.spec.subject == subject:
            vc.gates[bundle_id] = vc.program.compile(bundle.gate.expr)
    return vc


@dataclass
class VectorResult:
    """Every policy's result for every row of one chunk."""

    engine: VectorCatalogue
    population: Population
    status: Status  # rows × policies, after excludes: 0 ineligible, 1 undetermined, 2 eligible
    raw_status: Status  # the same before excludes
    amount: npt.NDArray[np.float64]  # rows × policies, NaN where none
    conditions: list[Status]  # per policy: rows × conditions
    gates: dict[str, Status]
    region: Status  # rows × policies: is the row in the policy's region (Kleene)
    dropped_for: npt.NDArray[np.int32]  # rows × policies: the column kept instead, or -1
    missing_masks: dict[int, tuple[npt.NDArray[np.int64], Masks]] = field(default_factory=dict)

    def missing(self, row: int, j: int) -> tuple[str, ...]:
        """The facts row `row` still needs for policy column `j` (sorted)."""
        entry = self.missing_masks.get(j)
        if entry is None:
            return ()
        rows, masks = entry
        k = int(np.searchsorted(rows, row))
        if k == rows.shape[0] or rows[k] != row:
            return ()
        return mask_names(self.engine.program, masks[k])

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """Per policy: (eligible, undetermined, ineligible) row counts."""
        return {
            pid: (
                int((self.status[:, j] == T).sum()),
                int((self.status[:, j] == U).sum()),
                int((self.status[:, j] == F).sum()),
            )
            for j, pid in enumerate(self.engine.ids)
        }

    def results(self, row: int) -> list[PolicyResult]:
        """Row `row` as the interpreter's results (status, amount, reasons, missing facts)."""
        return [self.result(row, j) for j in range(len(self.engine.policies))]

    def result(self, row: int, j: int) -> PolicyResult:
        """One row's result for policy column `j`."""
        winner = int(self.dropped_for[row, j])
        if winner >= 0:
            kept = self.engine.policies[winner]
            return drop(self._own(row, j), kept.id, kept.spec.title)
        return self._own(row, j)

    def _own(self, row: int, j: int) -> PolicyResult:
        policy = self.engine.policies[j]
        region = self.population.regions[row] or None
        early = scope_result(policy, region, self.engine.on)
        if early is not None:
            return early
        bound = self.engine.bound[j]
        assert bound is not None
        verdicts = self.conditions[j][row]
        conds = tuple(
            ConditionResult(c.says, c.text, _verdict(int(v)), (), None, ())
            for c, v in zip(bound.conditions, verdicts, strict=True)
        )
        status = STATUS_NAMES[int(self.raw_status[row, j])]
        base = replace(
            base_result(policy),
            status=status,
            conditions=conds,
            missing=self.missing(row, j),
        )
        if status != "eligible" or self.engine.amounts[j] is None:
            return base
        value = self.amount[row, j]
        amount = None if np.isnan(value) else float(value)
        return with_amount(base, policy, amount, self.missing(row, j))


def _verdict(v: int) -> bool | None:
    return None if v == int(U) else v == int(T)


def run(engine: VectorCatalogue, pop: Population) -> VectorResult:
    """Evaluate every policy of `engine` over the chunk `pop`."""
    outputs = [s for conds in engine.conditions for s in conds]
    outputs += [a for a in engine.amounts if a is not None] + list(engine.gates.values())
    values = evaluate(engine.program, pop, outputs)
    n, p = pop.size, len(engine.policies)
    status = np.zeros((n, p), np.uint8)
    amount = np.full((n, p), np.nan)
    region = np.zeros((n, p), np.uint8)
    conditions: list[Status] = []
    for j, policy in enumerate(engine.policies):
        conds = [values[s] for s in engine.conditions[j]]
        matrix = np.stack(conds, axis=1) if conds else np.zeros((n, 0), np.uint8)
        conditions.append(matrix.astype(np.uint8))
        region[:, j] = _in_region(policy.spec.regions, pop.regions)
        own = matrix.min(axis=1) if conds else np.full(n, F)
        status[:, j] = np.where(region[:, j] == T, own, np.where(region[:, j] == U, U, F))
        if not engine.active[j]:
            status[:, j] = F
        slot = engine.amounts[j]
        if slot is not None:
            amount[:, j] = np.where(status[:, j] == T, np.round(values[slot], 2), np.nan)
    gates = {b: values[s].astype(np.uint8) for b, s in engine.gates.items()}
    dropped = np.full((n, p), -1, np.int32)
    result = VectorResult(
        engine, pop, status, status.copy(), amount, conditions, gates, region, dropped
    )
    _fill_missing(result)
    _apply_excludes(result)
    return result


def _in_region(prefixes: list[str] | None, regions: npt.NDArray[np.str_]) -> Array:
    if not prefixes:
        return np.full(regions.shape[0], T)
    inside = np.zeros(regions.shape[0], bool)
    for prefix in prefixes:
        inside |= np.char.startswith(regions, prefix)
    return np.where(regions == "", U, np.where(inside, T, F))


def _fill_missing(res: VectorResult) -> None:
    """Missing-fact masks of undetermined rows, and of eligible rows whose amount is unknown."""
    program = res.engine.program
    words = max(1, (len(program.missing_names) + 63) // 64)
    region_bit = program.missing_names.index("region_code")
    region_mask = np.zeros(words, np.uint64)
    region_mask[region_bit // 64] = np.uint64(1) << np.uint64(region_bit % 64)
    for j in range(len(res.engine.policies)):
        column, slot = res.status[:, j], res.engine.amounts[j]
        parts: list[tuple[npt.NDArray[np.int64], Masks]] = []
        by_region = np.flatnonzero((column == U) & (res.region[:, j] == U))
        if by_region.size:
            parts.append((by_region, np.tile(region_mask, (by_region.size, 1))))
        undecided = np.flatnonzero((column == U) & (res.region[:, j] == T))
        if undecided.size:
            parts.append((undecided, _masks(res, undecided, res.engine.conditions[j])))
        if slot is not None:
            unpaid = np.flatnonzero((column == T) & np.isnan(res.amount[:, j]))
            if unpaid.size:
                parts.append((unpaid, _masks(res, unpaid, [slot])))
        if parts:
            rows = np.concatenate([r for r, _ in parts])
            order = np.argsort(rows)
            res.missing_masks[j] = (rows[order], np.concatenate([m for _, m in parts])[order])


def _masks(res: VectorResult, rows: npt.NDArray[np.int64], slots: list[int]) -> Masks:
    masks = evaluate_missing(res.engine.program, res.population.take(rows), slots)
    union: Masks = np.bitwise_or.reduce(np.stack([masks[s] for s in slots]), axis=0)
    return union


def _apply_excludes(res: VectorResult) -> None:
    """Of eligible policies that exclude each other, keep the larger amount (ties: smaller id).

    The interpreter's greedy rule, vectorised: policies in order of (−amount, id) per row, each
    kept unless a partner was kept before it, and then dropped for the smallest-id kept partner.
    """
    ids = res.engine.ids
    col = {pid: j for j, pid in enumerate(ids)}
    policies = res.engine.catalogue.policies
    pairs = {(col[a], col[b]) for a in ids for b in policies[a].spec.excludes if b in col}
    if not pairs:
        return
    group = sorted({j for pair in pairs for j in pair})  # columns in id order
    local = {j: k for k, j in enumerate(group)}
    partners = np.zeros((len(group), len(group)), bool)
    for a, b in pairs:
        partners[local[a], local[b]] = partners[local[b], local[a]] = True
    eligible = res.raw_status[:, group] == T
    amounts = np.where(eligible, np.nan_to_num(res.amount[:, group], nan=0.0), 0.0)
    order = np.lexsort((np.broadcast_to(np.arange(len(group)), amounts.shape), -amounts), axis=1)
    kept = np.zeros_like(eligible)
    rows = np.arange(eligible.shape[0])
    for t in range(len(group)):
        k = order[:, t]
        clash = (kept & partners[k]).any(axis=1)
        here = eligible[rows, k]
        kept[rows, k] = here & ~clash
        lost = here & clash
        winner = np.argmax(kept & partners[k], axis=1)
        columns = np.asarray(group)[k]
        res.dropped_for[rows[lost], columns[lost]] = np.asarray(group)[winner[lost]]
        res.status[rows[lost], columns[lost]] = F
