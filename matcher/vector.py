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
    verdicts: dict[int, Status]  # condition step → its Kleene value per row
    gates: dict[str, Status]
    region: Status  # rows × policies: is the row in the policy's region (Kleene)
    dropped_for: npt.NDArray[np.int32]  # rows × policies: the column kept instead, or -1
    _masks: dict[int, tuple[npt.NDArray[np.int64], Masks]] | None = None

    @property
    def missing_masks(self) -> dict[int, tuple[npt.NDArray[np.int64], Masks]]:
        """Per policy column: the rows that lack facts and their masks (computed on first use,
        in one pass over every row that needs one)."""
        if self._masks is None:
            self._masks = _fill_missing(self)
        return self._masks

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
        slots = self.engine.conditions[j]
        conds = tuple(
            ConditionResult(c.says, c.text, _verdict(int(self.verdicts[s][row])), (), None, ())
            for c, s in zip(bound.conditions, slots, strict=True)
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
    """Evaluate every policy of `engine` over the chunk `pop`.

    Arrays are built policy-major (one contiguous row per policy) and exposed rows × policies.
    """
    outputs = [s for conds in engine.conditions for s in conds]
    outputs += [a for a in engine.amounts if a is not None] + list(engine.gates.values())
    values = evaluate(engine.program, pop, outputs)
    n, p = pop.size, len(engine.policies)
    status = np.zeros((p, n), np.uint8)
    amount = np.full((p, n), np.nan)
    region = np.zeros((p, n), np.uint8)
    scopes = _Regions(pop.regions)
    for j, policy in enumerate(engine.policies):
        region[j] = scopes.of(policy.spec.regions)
        if engine.bound[j] is None:
            continue
        own = _all_of([values[s] for s in engine.conditions[j]], n)
        np.minimum(own, region[j], out=status[j])  # out of region: F; region unknown: U
        np.copyto(status[j], U, where=(region[j] == U))
        slot = engine.amounts[j]
        if slot is not None:
            amount[j] = np.where(status[j] == T, np.round(values[slot], 2), np.nan)
    gates = {b: values[s].astype(np.uint8) for b, s in engine.gates.items()}
    dropped = np.full((p, n), -1, np.int32)
    verdicts = {s: values[s] for conds in engine.conditions for s in conds}
    result = VectorResult(
        engine, pop, status.T, status.copy().T, amount.T, verdicts, gates, region.T, dropped.T
    )
    _apply_excludes(result)
    return result


def _all_of(conditions: list[Array], n: int) -> Status:
    """Kleene `and` of a policy's conditions, in place on a fresh array."""
    out = np.full(n, T, np.uint8)
    for c in conditions:
        np.minimum(out, c, out=out)
    return out


class _Regions:
    """Each distinct set of region prefixes tested once per chunk."""

    def __init__(self, regions: npt.NDArray[np.str_]) -> None:
        self.regions = regions
        self.unknown = regions == ""
        self.cache: dict[tuple[str, ...], Status] = {}

    def of(self, prefixes: list[str] | None) -> Status:
        key = tuple(prefixes or ())
        if key not in self.cache:
            self.cache[key] = self._test(key)
        return self.cache[key]

    def _test(self, prefixes: tuple[str, ...]) -> Status:
        if not prefixes:
            return np.full(self.regions.shape[0], T, np.uint8)
        inside = np.zeros(self.regions.shape[0], bool)
        for prefix in prefixes:
            inside |= np.char.startswith(self.regions, prefix)
        return np.where(self.unknown, U, np.where(inside, T, F)).astype(np.uint8)


def _fill_missing(res: VectorResult) -> dict[int, tuple[npt.NDArray[np.int64], Masks]]:
    """Missing-fact masks of undetermined rows, and of eligible rows whose amount is unknown.

    The rows that need one, over all policies, are taken once and evaluated once with masks.
    """
    program = res.engine.program
    words = max(1, (len(program.missing_names) + 63) // 64)
    region_bit = program.missing_names.index("region_code")
    region_mask = np.zeros(words, np.uint64)
    region_mask[region_bit // 64] = np.uint64(1) << np.uint64(region_bit % 64)
    needs: list[tuple[int, npt.NDArray[np.int64], list[int]]] = []
    regional: dict[int, npt.NDArray[np.int64]] = {}
    for j in range(len(res.engine.policies)):
        column, region, slot = res.raw_status[:, j], res.region[:, j], res.engine.amounts[j]
        undetermined = column == U
        by_region = np.flatnonzero(undetermined & (region == U))
        if by_region.size:
            regional[j] = by_region
        undecided = np.flatnonzero(undetermined & (region == T))
        if undecided.size:
            needs.append((j, undecided, res.engine.conditions[j]))
        if slot is not None:
            unpaid = np.flatnonzero((column == T) & np.isnan(res.amount[:, j]))
            if unpaid.size:
                needs.append((j, unpaid, [slot]))
    parts: dict[int, list[tuple[npt.NDArray[np.int64], Masks]]] = {
        j: [(rows, np.tile(region_mask, (rows.size, 1)))] for j, rows in regional.items()
    }
    if needs:
        union = np.unique(np.concatenate([rows for _, rows, _ in needs]))
        slots = sorted({s for _, _, group in needs for s in group})
        masks = evaluate_missing(program, res.population.take(union), slots)
        for j, rows, group in needs:
            at = np.searchsorted(union, rows)
            combined = np.bitwise_or.reduce(np.stack([masks[s][at] for s in group]), axis=0)
            parts.setdefault(j, []).append((rows, combined))
    masks_by_policy = {}
    for j, found in parts.items():
        rows = np.concatenate([r for r, _ in found])
        order = np.argsort(rows, kind="stable")
        masks_by_policy[j] = (rows[order], np.concatenate([m for _, m in found])[order])
    return masks_by_policy


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
    both = np.zeros(res.status.shape[0], bool)
    for a, b in pairs:
        both |= (res.raw_status[:, a] == T) & (res.raw_status[:, b] == T)
    rows = np.flatnonzero(both)  # only rows where two partners are eligible can change
    if rows.size == 0:
        return
    cols = np.asarray(group)
    eligible = res.raw_status[np.ix_(rows, cols)] == T
    amounts = np.where(eligible, np.nan_to_num(res.amount[np.ix_(rows, cols)], nan=0.0), 0.0)
    order = np.lexsort((np.broadcast_to(np.arange(len(group)), amounts.shape), -amounts), axis=1)
    kept = np.zeros_like(eligible)
    local_rows = np.arange(rows.size)
    for t in range(len(group)):
        k = order[:, t]
        clash = (kept & partners[k]).any(axis=1)
        here = eligible[local_rows, k]
        kept[local_rows, k] = here & ~clash
        lost = here & clash
        winner = np.argmax(kept & partners[k], axis=1)
        columns = np.asarray(group)[k]
        res.dropped_for[rows[lost], columns[lost]] = np.asarray(group)[winner[lost]]
        res.status[rows[lost], columns[lost]] = F
