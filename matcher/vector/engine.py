"""The vectorised engine: every policy over a whole population chunk at once.

Same semantics as the interpreter (docs/rule-language.md): three-valued per condition, missing
facts, exact amounts to the fen, region scope and dates, `excludes` and bundle gates. It is the
engine of every batch; `results(row)` turns one row back into the interpreter's
`PolicyResult`s.

It computes in float64 and proves the result exact (`matcher.vector.exactness`); the rows it cannot
prove, and the outputs that ranges might decide where Kleene logic left them unknown, are evaluated
exactly by the interpreter's evaluator (`matcher.vector.exact_rows`). Amounts are whole fen (`fen`,
NaN where none), so the store, the sheets and the JSON give the same fen. They are kept per policy
on its eligible rows only (`paid`, a fraction of a per cent of the pairs); the rows × policies
`fen` array is built from them on first read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from matcher.interpreter.evaluate import Value
from matcher.interpreter.excludes import drop
from matcher.interpreter.match import (
    REGION_UNKNOWN_NOTE,
    ConditionResult,
    PolicyResult,
    amount_of,
    base_result,
    scope_result,
)
from matcher.interpreter.match import Status as StatusName
from matcher.interpreter.results import build
from matcher.vector.arrays import Array, Evaluation, F, Masks, T, U, evaluate
from matcher.vector.columns import Population
from matcher.vector.exact_rows import ExactRows, needs_ranges
from matcher.vector.exactness import Bound, amount_fen
from matcher.vector.excludes import apply_excludes
from matcher.vector.missing import fill_missing, mask_of
from matcher.vector.program import Program
from matcher.vector.ranges import evaluate_ranges
from rules import ir
from rules.catalogue import BoundPolicy, Catalogue, CompiledPolicy
from rules.numbers import from_fen

__all__ = ["STATUS_NAMES", "VectorCatalogue", "VectorResult", "compile_catalogue", "run"]

Status = npt.NDArray[np.uint8]
Bounds = tuple[Decimal | None, Decimal | None]
# rows (sorted) and their lower and upper amounts in whole fen (NaN: unbounded), per column
FenBounds = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
# rows (sorted) and their amounts in whole fen (NaN: unknown), per column
Paid = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]
_UNSEEN = object()
_MAX_SCOPES = 65_536  # (policy, region code) scope results kept per compiled catalogue
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
    exprs: dict[int, ir.Expr] = field(default_factory=dict)  # output step → its IR
    ranged: set[int] = field(default_factory=set)  # outputs that ranges may decide

    _scopes: dict[tuple[int, str | None], PolicyResult | None] = field(
        default_factory=dict, repr=False
    )
    _templates: dict[int, dict[str, object]] = field(default_factory=dict, repr=False)

    def scope(self, j: int, region: str | None) -> PolicyResult | None:
        """`scope_result` of policy column `j` for a region code (kept per region code)."""
        key = (j, region)
        found = self._scopes.get(key, _UNSEEN)
        if found is _UNSEEN:  # threads may fill the cache at once: each writes the same value
            found = scope_result(self.policies[j], region, self.on)
            if len(self._scopes) >= _MAX_SCOPES:
                self._scopes.clear()
            self._scopes[key] = found
        return found  # type: ignore[return-value]

    def template(self, j: int) -> dict[str, object]:
        """Every field of policy column `j`'s `base_result`, as a dict."""
        found = self._templates.get(j)
        if found is None:
            base = base_result(self.policies[j])
            found = self._templates[j] = {
                f.name: getattr(base, f.name) for f in fields(PolicyResult)
            }
        return found

    @property
    def active(self) -> list[bool]:
        """Whether each policy is in force with every parameter valued on the date."""
        return [b is not None for b in self.bound]

    @property
    def ids(self) -> list[str]:
        """Policy ids, in column order."""
        return [p.id for p in self.policies]

    def output(self, expr: ir.Expr, *, amount: bool = False) -> int:
        """Compile one output (a condition, an amount, a gate) and remember its IR. An unknown
        amount always goes through the exact path, which gives its bounds."""
        slot = self.program.compile(expr)
        self.exprs.setdefault(slot, expr)
        if amount or needs_ranges(expr):
            self.ranged.add(slot)
        return slot


def compile_catalogue(catalogue: Catalogue, on: date, subject: str) -> VectorCatalogue:
    """Compile every policy (and bundle gate) of `subject` kind, bound at `on`."""
    vc = VectorCatalogue(catalogue, on, subject, catalogue.for_subject(subject))
    for policy in vc.policies:
        bound = policy.bind(on) if policy.in_force(on) else None
        vc.bound.append(bound)
        conds = bound.conditions if bound is not None else ()
        vc.conditions.append([vc.output(c.expr) for c in conds])
        amount = bound.amount if bound is not None else None
        vc.amounts.append(vc.output(amount, amount=True) if amount is not None else None)
    vc.program.bit("region_code")
    for bundle_id, bundle in sorted(catalogue.bundles.items()):
        if bundle.spec.subject == subject:
            vc.gates[bundle_id] = vc.output(bundle.gate.expr)
    return vc


@dataclass
class VectorResult:
    """Every policy's result for every row of one chunk."""

    engine: VectorCatalogue
    population: Population
    status: Status  # rows × policies, after excludes: 0 ineligible, 1 undetermined, 2 eligible
    raw_status: Status  # the same before excludes
    paid: dict[int, Paid]  # j → its eligible rows (raw status) and their amounts in whole fen
    verdicts: dict[int, Status]  # condition step → its Kleene value per row
    gates: dict[str, Status]
    region: Status  # rows × policies: is the row in the policy's region (Kleene)
    dropped: dict[tuple[int, int], int]  # (row, j) dropped by `excludes` → the column kept
    exact_missing: dict[int, dict[int, tuple[str, ...]]] = field(default_factory=dict)
    bounds: dict[tuple[int, int], Bounds] = field(default_factory=dict)  # (row, j) → range
    fen_bounds: dict[int, FenBounds] = field(default_factory=dict)  # j → the range pass's
    settled: dict[tuple[int, int], PolicyResult] = field(default_factory=dict)  # by excludes
    exact_outputs: int = 0  # (output, row) pairs the exact path evaluated (for benchmarks)
    fragile_rows: int = 0  # rows whose float64 results were not proved exact
    _masks: dict[int, tuple[npt.NDArray[np.int64], Masks]] | None = None
    _fen: npt.NDArray[np.float64] | None = None

    @property
    def dropped_for(self) -> npt.NDArray[np.int32]:
        """Rows × policies: the column kept instead of a dropped policy, or -1 (built on read;
        the engine keeps the few dropped pairs in `dropped`)."""
        out = np.full((self.population.size, len(self.engine.policies)), -1, np.int32)
        for (row, j), kept in self.dropped.items():
            out[row, j] = kept
        return out

    @property
    def fen(self) -> npt.NDArray[np.float64]:
        """Rows × policies: the amount in whole fen, NaN where none (built on first read)."""
        if self._fen is None:
            fen = np.full((len(self.engine.policies), self.population.size), np.nan)
            for j, (rows, amounts) in self.paid.items():
                fen[j, rows] = amounts
            self._fen = fen.T
        return self._fen

    def fen_at(self, j: int, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Policy column `j`'s amounts in whole fen on `rows`: `fen[rows, j]`, sparsely."""
        out = np.full(rows.shape[0], np.nan)
        found = self.paid.get(j)
        if found is not None and found[0].size:
            paid, amounts = found
            k = np.minimum(np.searchsorted(paid, rows), paid.size - 1)
            hit = paid[k] == rows
            out[hit] = amounts[k[hit]]
        return out

    @property
    def missing_masks(self) -> dict[int, tuple[npt.NDArray[np.int64], Masks]]:
        """Per policy column: the rows that lack facts and their masks (computed on first use,
        in one pass over every row that needs one)."""
        if self._masks is None:
            self._masks = fill_missing(self)
        return self._masks

    def missing(self, row: int, j: int) -> tuple[str, ...]:
        """The facts row `row` still needs for policy column `j` (sorted)."""
        settled = self.settled.get((row, j))
        if settled is not None:
            return settled.missing
        return self._masked(row, j)

    def amount_at(self, row: int, j: int) -> Decimal | None:
        """Row `row`'s amount for policy column `j`, to the fen (None when none or unknown)."""
        found = self.paid.get(j)
        if found is None:
            return None
        rows, amounts = found
        k = int(np.searchsorted(rows, row))
        if k == rows.size or rows[k] != row or np.isnan(amounts[k]):
            return None
        return from_fen(int(amounts[k]))

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
        """One row's result for policy column `j` (after `excludes`)."""
        settled = self.settled.get((row, j))
        if settled is not None:
            return settled
        winner = self.dropped.get((row, j), -1)
        if winner >= 0:
            kept = self.engine.policies[winner]
            return drop(self.own(row, j), kept.id, kept.spec.title)
        return self.own(row, j)

    def own(self, row: int, j: int) -> PolicyResult:
        """One row's result for policy column `j` before `excludes`."""
        policy = self.engine.policies[j]
        region = self.population.regions[row] or None
        early = self.engine.scope(j, region)
        if early is not None:
            return early
        bound = self.engine.bound[j]
        assert bound is not None
        slots = self.engine.conditions[j]
        conds = tuple(
            build(
                ConditionResult,
                {
                    "says": c.says,
                    "text": c.text,
                    "verdict": _verdict(int(self.verdicts[s][row])),
                    "seen": (),
                    "threshold": None,
                    "missing": (),
                },
            )
            for c, s in zip(bound.conditions, slots, strict=True)
        )
        status = STATUS_NAMES[int(self.raw_status[row, j])]
        unknown_region = status == "undetermined" and self.region[row, j] == U
        missing = self._masked(row, j) if status != "ineligible" else ()
        values = dict(self.engine.template(j))
        values["status"] = status
        values["conditions"] = conds
        values["note"] = REGION_UNKNOWN_NOTE if unknown_region else None
        values["missing"] = missing
        benefit = policy.spec.benefit
        if status == "eligible" and self.engine.amounts[j] is not None and benefit is not None:
            amount = self.amount_at(row, j)
            values["amount"] = amount
            values["unit"], values["period"] = benefit.unit, benefit.period
            values["amount_bounds"] = self.amount_range(row, j) if amount is None else None
        return build(PolicyResult, values)

    def amount_range(self, row: int, j: int) -> Bounds:
        """The bounds of an eligible amount not yet known (None: unbounded that way)."""
        exact = self.bounds.get((row, j))
        if exact is not None:
            return exact
        found = self.fen_bounds.get(j)
        if found is not None:
            rows, low, high = found
            k = int(np.searchsorted(rows, row))
            if k < rows.size and rows[k] == row:
                ends = (low[k], high[k])
                lo, hi = (None if np.isnan(x) else from_fen(int(x)) for x in ends)
                return lo, hi
        return None, None

    def _masked(self, row: int, j: int) -> tuple[str, ...]:
        """The missing facts of row `row`, policy column `j`, from the masks."""
        entry = self.missing_masks.get(j)
        if entry is None:
            return ()
        rows, masks = entry
        k = int(np.searchsorted(rows, row))
        if k == rows.shape[0] or rows[k] != row:
            return ()
        return mask_of(self.engine.program, masks[k])


def _verdict(v: int) -> bool | None:
    return None if v == int(U) else v == int(T)


def run(engine: VectorCatalogue, pop: Population) -> VectorResult:
    """Evaluate every policy of `engine` over the chunk `pop`.

    Conditions and gates first, in three passes, each on fewer rows: the float64 program over
    every row (Kleene logic, an unknown being anything); the range pass over the rows where an
    output that ranges may decide was left unknown (`matcher.vector.ranges`); the exact path
    over the rows neither could prove (`matcher.vector.exact_rows`). That settles each policy's
    status. Amounts are then made whole fen, ranged and proved only on the rows where their
    policy is eligible — the only rows whose amount a result shows (`fen` is NaN elsewhere),
    a fraction of a per cent of the (row, policy) pairs. Arrays are built policy-major into one
    buffer each and exposed rows × policies.
    """
    logic = [s for conds in engine.conditions for s in conds] + list(engine.gates.values())
    amounts = {a for a in engine.amounts if a is not None}
    paid = sorted(amounts)
    ev = evaluate(engine.program, pop, logic + paid)
    values = dict(ev.values)
    exact = _Exact(engine, pop, values)
    doubts: dict[int, set[int]] = {
        o: set(rows.tolist()) for o, rows in ev.fragile.items() if o not in amounts
    }
    exact.refine([s for s in sorted(engine.ranged) if s not in amounts], doubts)
    exact.settle(doubts)
    status, region = _statuses(engine, pop, values)
    amount_doubts = exact.amounts(paid, status, ev)
    exact.settle(amount_doubts)
    doubts.update(amount_doubts)
    result = _assemble(engine, pop, values, status, region, exact)
    result.exact_outputs = exact.count
    result.fragile_rows = len(set().union(*doubts.values())) if doubts else 0
    return result


@dataclass
class _Paid:
    """One amount output on the rows where a policy paying it is eligible (sorted)."""

    rows: npt.NDArray[np.int64]
    fen: npt.NDArray[np.float64]  # whole fen, NaN: unknown

    def at(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Positions of `rows` (all among `self.rows`) in this output's arrays."""
        return np.searchsorted(self.rows, rows)


@dataclass
class _Exact:
    """What the range pass and the exact path overrode: verdicts, amounts, bounds, missing."""

    engine: VectorCatalogue
    pop: Population
    values: dict[int, Array]
    paid: dict[int, _Paid] = field(default_factory=dict)  # amount slot → its eligible rows
    eligible: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict)  # j → rows
    missing: dict[int, dict[int, tuple[str, ...]]] = field(default_factory=dict)
    ranges: dict[int, dict[int, Bounds]] = field(default_factory=dict)  # slot → row → range
    fen_ranges: dict[int, FenBounds] = field(default_factory=dict)  # slot → range pass's
    redone: dict[int, set[int]] = field(default_factory=dict)  # slot → rows the exact path set
    _owned: set[int] = field(default_factory=set)
    _rows: ExactRows | None = None
    count: int = 0

    def refine(self, ranged: list[int], doubts: dict[int, set[int]]) -> None:
        """The range pass over the rows where a condition or gate ranges may decide is
        unknown; the (output, row) pairs it cannot prove join `doubts`."""
        todo = np.zeros(self.pop.size, dtype=bool)
        for slot in ranged:
            todo |= np.asarray(self.values[slot]) == U
        rows = np.flatnonzero(todo)
        if rows.size == 0:
            return
        found = evaluate_ranges(self.engine.program, self.pop.take(rows), ranged, masks=False)
        for slot in ranged:
            self._own(slot)[rows] = found.kleene[slot]
        for slot, local in found.fragile.items():
            doubts.setdefault(slot, set()).update(rows[local].tolist())

    def amounts(self, slots: list[int], status: Status, ev: Evaluation) -> dict[int, set[int]]:
        """Each amount output in whole fen on the rows where a policy paying it is eligible
        (`status`, policy-major, settled); unknown ones through the range pass. Returns the
        (output, row) pairs not proved, for the exact path."""
        eligible: dict[int, list[npt.NDArray[np.int64]]] = {}
        for j, slot in enumerate(self.engine.amounts):
            if slot is not None:
                self.eligible[j] = np.flatnonzero(status[j] == T)
                eligible.setdefault(slot, []).append(self.eligible[j])
        doubts: dict[int, set[int]] = {}
        unknown: dict[int, npt.NDArray[np.int64]] = {}
        for slot in slots:
            parts = eligible[slot]
            rows = parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))
            raw = np.asarray(self.values[slot], np.float64)
            at = raw[rows] if raw.ndim else np.full(rows.size, raw)
            fen, unsure = amount_fen(at, ev.bounds[slot])
            self.paid[slot] = _Paid(rows, fen)
            doubt = set(rows[unsure].tolist())
            fragile = ev.fragile.get(slot)
            if fragile is not None and rows.size:
                doubt.update(rows[np.isin(rows, fragile)].tolist())
            if doubt:
                doubts[slot] = doubt
            nan = rows[np.isnan(at)]
            if nan.size:
                unknown[slot] = nan
        if unknown:
            self._ranged_amounts(unknown, doubts)
        return doubts

    def _ranged_amounts(
        self, unknown: dict[int, npt.NDArray[np.int64]], doubts: dict[int, set[int]]
    ) -> None:
        """The range pass over eligible rows whose amount the fast pass left unknown."""
        rows = np.unique(np.concatenate(list(unknown.values())))
        slots = sorted(unknown)
        found = evaluate_ranges(self.engine.program, self.pop.take(rows), slots, masks=False)
        for slot in slots:
            mine = unknown[slot]
            local = np.searchsorted(rows, mine)
            lo, hi = found.lo[slot][local], found.hi[slot][local]
            unsure = self._amounts(slot, mine, lo, hi, found.bounds[slot])
            doubt = set(mine[unsure].tolist())
            fragile = found.fragile.get(slot)
            if fragile is not None:
                doubt.update(mine[np.isin(local, fragile)].tolist())
            if doubt:
                doubts.setdefault(slot, set()).update(doubt)

    def _amounts(
        self, slot: int, rows: npt.NDArray[np.int64], lo: Array, hi: Array, bound: Bound
    ) -> npt.NDArray[np.bool_]:
        """Amounts the ranges pinned to one value, the fen bounds of the others, and the rows
        where an end lies within its error of a half fen."""
        low, unsure_lo = amount_fen(np.where(np.isfinite(lo), lo, np.nan), bound)
        high, unsure_hi = amount_fen(np.where(np.isfinite(hi), hi, np.nan), bound)
        point = lo == hi
        paid = self.paid[slot]
        paid.fen[paid.at(rows)] = np.where(point, low, np.nan)
        ranged = ~point  # kept as fen arrays, made Decimal only when a row's result is read
        self.fen_ranges[slot] = (rows[ranged], low[ranged], high[ranged])
        unsure: npt.NDArray[np.bool_] = unsure_lo | unsure_hi
        return unsure

    def settle(self, doubts: dict[int, set[int]]) -> None:
        """Every (output, row) pair not proved, evaluated exactly by the interpreter's
        evaluator."""
        if self._rows is None:
            self._rows = ExactRows(self.pop, self.engine.catalogue.facts)
        for slot, todo in doubts.items():
            expr = self.engine.exprs.get(slot)
            if expr is None:
                continue
            for row in sorted(todo):
                self._put(slot, row, *self._rows.evaluate(expr, row))
            self.count += len(todo)

    def _own(self, slot: int) -> Array:
        if slot not in self._owned:  # outputs may share arrays: write to a copy, once
            self.values[slot] = np.array(self.values[slot], dtype=np.uint8, copy=True)
            self._owned.add(slot)
        return self.values[slot]

    def _put(self, slot: int, row: int, value: Value, missing: frozenset[str]) -> None:
        paid = self.paid.get(slot)
        if paid is not None:
            amount, bounds = amount_of(value)
            k = int(np.searchsorted(paid.rows, row))
            paid.fen[k] = np.nan if amount is None else float(amount * 100)
            self.redone.setdefault(slot, set()).add(row)
            ranges = self.ranges.setdefault(slot, {})
            ranges.pop(row, None)
            if bounds is not None:
                ranges[row] = bounds
        else:
            self._own(slot)[row] = U if value is None else (T if value else F)
        self.missing.setdefault(slot, {})[row] = tuple(sorted(missing)) if missing else ()


def _statuses(
    engine: VectorCatalogue, pop: Population, values: dict[int, Array]
) -> tuple[Status, Status]:
    """Per policy (policy-major): status before excludes, and whether the row is in region."""
    n, p = pop.size, len(engine.policies)
    status = np.zeros((p, n), np.uint8)
    region = np.empty((p, n), np.uint8)
    scopes = _Regions(pop.regions)
    for j, policy in enumerate(engine.policies):
        region[j] = scopes.of(policy.spec.regions)
        if engine.bound[j] is None:
            continue
        out = status[j]
        conds = engine.conditions[j]
        if conds:
            np.minimum(region[j], values[conds[0]], out=out)
        else:
            np.copyto(out, region[j])
        for s in conds[1:]:
            np.minimum(out, values[s], out=out)  # Kleene and: F ∧ U = F
    return status, region


def _assemble(
    engine: VectorCatalogue,
    pop: Population,
    values: dict[int, Array],
    status: Status,
    region: Status,
    exact: _Exact,
) -> VectorResult:
    amounts: dict[int, Paid] = {}
    bounds: dict[tuple[int, int], Bounds] = {}
    fen_bounds: dict[int, FenBounds] = {}
    for j, slot in enumerate(engine.amounts):
        if slot is None:
            continue
        paid = exact.paid[slot]
        rows = exact.eligible[j]
        whole = rows.size == paid.rows.size  # the only policy paying it: the same rows
        amounts[j] = (rows, paid.fen if whole else paid.fen[paid.at(rows)])
        found = exact.fen_ranges.get(slot)
        if found is not None:
            ranged, low, high = found
            keep = status[j, ranged] == T
            redone = exact.redone.get(slot)
            if redone:
                keep &= ~np.isin(ranged, list(redone))
            fen_bounds[j] = (ranged[keep], low[keep], high[keep])
        for row, r in exact.ranges.get(slot, {}).items():
            if status[j, row] == T:
                bounds[(row, j)] = r
    gates = {b: np.asarray(values[s]).astype(np.uint8) for b, s in engine.gates.items()}
    verdicts = {s: values[s] for conds in engine.conditions for s in conds}
    result = VectorResult(
        engine,
        pop,
        status.T,
        status.copy().T,
        amounts,
        verdicts,
        gates,
        region.T,
        {},
        exact_missing=exact.missing,
        bounds=bounds,
        fen_bounds=fen_bounds,
    )
    apply_excludes(result)
    return result


class _Regions:
    """Each distinct set of region prefixes tested once per chunk.

    When every known region code of the chunk is 12 digits (as the stores and the generator
    write them), the codes are read once as integers and a prefix becomes a range of them;
    otherwise each prefix is a string test.
    """

    def __init__(self, regions: npt.NDArray[np.str_]) -> None:
        self.regions = regions
        self.unknown = np.flatnonzero(regions == "")
        self.cache: dict[tuple[str, ...], Status] = {}
        self.numbers = _twelve_digits(regions)

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
            if self.numbers is not None and prefix.isascii() and prefix.isdigit():
                if len(prefix) <= _DIGITS:
                    scale = 10 ** (_DIGITS - len(prefix))
                    low = int(prefix) * scale
                    inside |= (self.numbers >= low) & (self.numbers < low + scale)
            else:
                inside |= np.char.startswith(self.regions, prefix)
        out: Status = inside.view(np.uint8) * np.uint8(2)  # T where inside, F elsewhere
        out[self.unknown] = U
        return out


_DIGITS = 12  # a full region code: province to village


def _twelve_digits(regions: npt.NDArray[np.str_]) -> npt.NDArray[np.int64] | None:
    """Region codes as integers (-1 where unknown), or None unless every known one is 12
    ASCII digits."""
    if regions.dtype.kind != "U" or regions.dtype.itemsize != 4 * _DIGITS:
        return None
    chars = regions.view(np.uint32).reshape(-1, _DIGITS).astype(np.int64) - ord("0")
    digits = ((chars >= 0) & (chars <= 9)).all(axis=1)
    unknown = regions == ""
    if not (digits | unknown).all():
        return None
    numbers = np.zeros(regions.shape[0], np.int64)
    for k in range(_DIGITS):
        numbers *= 10
        numbers += chars[:, k]
    numbers[unknown] = -1
    return numbers
