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

from matcher.arrays import Array, F, T, U, evaluate, evaluate_missing, mask_names
from matcher.columns import Population
from matcher.interpreter import (
    ConditionResult,
    PolicyResult,
    base_result,
    resolve_excludes,
    scope_result,
    with_amount,
)
from matcher.interpreter import Status as StatusName
from matcher.program import Program
from rules.catalogue import Catalogue, CompiledPolicy

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
    active: list[bool] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        """Policy ids, in column order."""
        return [p.id for p in self.policies]


def compile_catalogue(catalogue: Catalogue, on: date, subject: str) -> VectorCatalogue:
    """Compile every policy (and bundle gate) of `subject` kind, bound at `on`."""
    vc = VectorCatalogue(catalogue, on, subject, catalogue.for_subject(subject))
    for policy in vc.policies:
        bound = policy.bind(on) if policy.in_force(on) else None
        vc.active.append(bound is not None)
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
    amount: npt.NDArray[np.float64]  # rows × policies, NaN where none
    conditions: list[Status]  # per policy: rows × conditions
    gates: dict[str, Status]
    region: Status  # rows × policies: is the row in the policy's region (Kleene)
    missing: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    dropped: dict[tuple[int, int], PolicyResult] = field(default_factory=dict)

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
        if (row, j) in self.dropped:
            return self.dropped[(row, j)]
        policy = self.engine.policies[j]
        region = self.population.regions[row] or None
        early = scope_result(policy, region, self.engine.on)
        if early is not None:
            return early
        bound = policy.bind(self.engine.on)
        assert bound is not None
        verdicts = self.conditions[j][row]
        conds = tuple(
            ConditionResult(c.says, c.text, _verdict(int(v)), (), None, ())
            for c, v in zip(bound.conditions, verdicts, strict=True)
        )
        status = STATUS_NAMES[int(self.status[row, j])]
        base = replace(
            base_result(policy),
            status=status,
            conditions=conds,
            missing=self.missing.get((row, j), ()),
        )
        if status != "eligible" or self.engine.amounts[j] is None:
            return base
        value = self.amount[row, j]
        amount = None if np.isnan(value) else float(value)
        return with_amount(base, policy, amount, self.missing.get((row, j), ()))


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
    result = VectorResult(
        engine,
        pop,
        status,
        amount,
        conditions,
        {b: values[s].astype(np.uint8) for b, s in engine.gates.items()},
        region,
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
    """Missing facts of undetermined rows (and of eligible rows whose amount is unknown)."""
    engine = res.engine
    for j in range(len(engine.policies)):
        column = res.status[:, j]
        by_region = np.flatnonzero((column == U) & (res.region[:, j] == U))
        for row in by_region:
            res.missing[(int(row), j)] = ("region_code",)
        undecided = np.flatnonzero((column == U) & (res.region[:, j] == T))
        slots = list(engine.conditions[j])
        slot = engine.amounts[j]
        unpaid = (
            np.flatnonzero((column == T) & np.isnan(res.amount[:, j]))
            if slot is not None
            else np.zeros(0, np.int64)
        )
        if undecided.size:
            _record(res, j, undecided, slots)
        if unpaid.size and slot is not None:
            _record(res, j, unpaid, [slot])


def _record(res: VectorResult, j: int, rows: npt.NDArray[np.int64], slots: list[int]) -> None:
    engine = res.engine
    sub = res.population.take(rows)
    masks = evaluate_missing(engine.program, sub, slots)
    union = np.bitwise_or.reduce(np.stack([masks[s] for s in slots]), axis=0)
    for k, row in enumerate(rows):
        res.missing[(int(row), j)] = mask_names(engine.program, union[k])


def _apply_excludes(res: VectorResult) -> None:
    """Where policies that exclude each other are both eligible, keep the larger amount."""
    ids = res.engine.ids
    col = {pid: j for j, pid in enumerate(ids)}
    pairs = {
        (col[a], col[b])
        for a in ids
        for b in res.engine.catalogue.policies[a].spec.excludes
        if b in col
    }
    if not pairs:
        return
    involved = sorted({j for pair in pairs for j in pair})
    clash = np.zeros(res.status.shape[0], bool)
    for a, b in pairs:
        clash |= (res.status[:, a] == T) & (res.status[:, b] == T)
    policies = res.engine.catalogue.policies
    for row in np.flatnonzero(clash):
        before = [res.result(int(row), j) for j in involved]
        after = resolve_excludes(before, lambda pid: policies[pid].spec.excludes)
        for j, r in zip(involved, after, strict=True):
            if r.dropped_for is not None:
                res.dropped[(int(row), j)] = r
                res.status[row, j] = F
