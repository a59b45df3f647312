"""Load the fact catalogue, every policy and bundle file, and compile them to the IR.

`load_catalogue(root)` is the one entry point; `compile_file` serves `lint` one file at a time.
"""

from __future__ import annotations

import difflib
import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rules import ir
from rules.crossref import Entry, Kind
from rules.crossref import cross_check as check_entries
from rules.errors import ExpressionError, Location, RuleError
from rules.expr import Scope, formula_of, parse
from rules.facts import FactCatalogue, FactType, FactValue
from rules.messages import pydantic_problem
from rules.schema import BundleFile, Parameter, PolicyFile
from rules.yaml_safe import Loaded, load_file

FACTS_FILE = "facts.yaml"
BUNDLES_DIR = "bundles"
REACTIONS_DIR = "reactions"  # delivery reactions (rules.reactions): hashed, not compiled here
WORKFLOW_FILE = "workflow.yaml"  # the claims transition table (rules.workflow)
HOLIDAYS_FILE = "holidays.yaml"  # published holiday schedules beyond the package (rules.workdays)
# Data beside the facts that is not a policy: hashed and published, checked by its own module.
SIDE_FILES = (WORKFLOW_FILE, HOLIDAYS_FILE)


@dataclass(frozen=True)
class CompiledCondition:
    """One `when` with its `says`, as IR, and where it was written.

    Once bound (`CompiledPolicy.bind`), `text` shows the parameters' values, and `facts` and
    `threshold` are filled, so explaining a result does no work on the expression.
    """

    expr: ir.Expr
    says: str
    text: str
    location: Location
    facts: frozenset[str] = frozenset()
    threshold: str | None = None


@dataclass(frozen=True)
class BoundPolicy:
    """A policy with its parameters fixed at one date: what engines evaluate."""

    id: str
    conditions: tuple[CompiledCondition, ...]
    amount: ir.Expr | None
    params: dict[str, FactValue]


@dataclass(frozen=True)
class CompiledPolicy:
    """A checked policy: its file, conditions and amount as IR."""

    spec: PolicyFile
    path: str
    conditions: tuple[CompiledCondition, ...]
    amount: ir.Expr | None
    loaded: Loaded = field(repr=False, compare=False)
    _bound: dict[date, BoundPolicy | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    @property
    def id(self) -> str:
        """The policy id."""
        return self.spec.id

    def in_force(self, on: date) -> bool:
        """Whether the policy is in force on `on` (from inclusive, until exclusive)."""
        eff = self.spec.effective
        return eff.start <= on and (eff.until is None or on < eff.until)

    def params_at(self, on: date) -> dict[str, FactValue] | None:
        """Every parameter's value in force on `on`; None if one has no value yet."""
        values: dict[str, FactValue] = {}
        for name, param in self.spec.parameters.items():
            value = param_value(param, on)
            if value is None:
                return None
            values[name] = value
        return values

    def bind(self, on: date) -> BoundPolicy | None:
        """The policy with parameters fixed at `on`, or None when one has no value then."""
        if on not in self._bound:
            self._bound[on] = self._bind(on)
        return self._bound[on]

    def _bind(self, on: date) -> BoundPolicy | None:
        values = self.params_at(on)
        if values is None:
            return None
        conds = tuple(_bind_condition(c, values) for c in self.conditions)
        amount = ir.bind_params(self.amount, values) if self.amount is not None else None
        return BoundPolicy(self.id, conds, amount, values)


def _bind_condition(cond: CompiledCondition, values: dict[str, FactValue]) -> CompiledCondition:
    expr = ir.bind_params(cond.expr, values)
    return CompiledCondition(
        expr,
        cond.says,
        ir.to_text(expr),
        cond.location,
        frozenset(ir.fact_names(expr)),
        ir.threshold(expr),
    )


def param_value(param: Parameter, on: date) -> FactValue | None:
    """The value of a dated parameter in force on `on` (the latest start ≤ on)."""
    starts = sorted(param.values)
    i = bisect_right(starts, on)
    return param.values[starts[i - 1]] if i else None


@dataclass(frozen=True)
class CompiledBundle:
    """A bundle (一件事): the gate condition and its member policy ids."""

    spec: BundleFile
    path: str
    gate: CompiledCondition
    loaded: Loaded = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        """The bundle id."""
        return self.spec.id


@dataclass(frozen=True)
class Catalogue:
    """Every fact, policy and bundle, and the content hash that names this version."""

    facts: FactCatalogue
    policies: dict[str, CompiledPolicy]
    bundles: dict[str, CompiledBundle]
    version: str

    def for_subject(self, subject: str) -> list[CompiledPolicy]:
        """Policies about households or about enterprises, sorted by id."""
        return [p for _, p in sorted(self.policies.items()) if p.spec.subject == subject]


def load_facts(root: Path) -> FactCatalogue:
    """Load and validate `facts.yaml` under `root`.

    Raises:
        RuleError: `root` holds no facts.yaml (it is not a policies folder), or the file is wrong.
    """
    if not (root / FACTS_FILE).is_file():
        raise RuleError(
            Location(str(root)),
            f"不是政策目录：{root} 中没有 {FACTS_FILE} (no {FACTS_FILE})",
            f"应为含 {FACTS_FILE} 的政策目录（如 policies/）：检查 --policies、--root 或 "
            "ZHIDA_POLICIES",
        )
    loaded = load_file(root / FACTS_FILE)
    data = loaded.data if isinstance(loaded.data, dict) else {}
    try:
        raw = {n: {**(f or {}), "name": n} for n, f in (data.get("facts") or {}).items()}
        catalogue = FactCatalogue.model_validate({"facts": raw})
    except ValidationError as exc:
        raise validation_error(exc, loaded, prefix=("facts",)) from None
    except AttributeError:
        raise RuleError(
            loaded.where(()), "facts.yaml must map `facts:` to fact definitions"
        ) from None
    for name in catalogue.facts:
        try:
            formula_of(catalogue, name)
        except ExpressionError as exc:
            path = ("facts", name, "formula")
            raise RuleError(loaded.expression_start(path), exc.message, exc.hint) from None
    return catalogue


def validation_error(
    exc: ValidationError, loaded: Loaded, prefix: tuple[Any, ...] = ()
) -> RuleError:
    """The first pydantic error as a RuleError at its file position (unexpected keys first,
    since a misspelt key also makes the right one missing)."""
    errors = exc.errors()
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    err = (extra or errors)[0]
    path = (*prefix, *err["loc"])
    keys = ".".join(str(p) for p in path) or "(top level)"
    if err["type"] == "extra_forbidden":
        message = f"unexpected key `{path[-1]}`"
        missing = [
            str(e["loc"][-1])
            for e in errors
            if e["type"] == "missing" and e["loc"][:-1] == err["loc"][:-1]
        ]
        close = difflib.get_close_matches(str(path[-1]), missing, n=1)
        if close:
            return RuleError(loaded.key_where(path), message, f"did you mean `{close[0]}`?")
        if any(ch in str(path[-1]) for ch in "()<>=\"'"):
            hint = "a comma inside {…} splits the value: put the expression in quotes"
        elif missing:
            wanted = "、".join(f"`{m}`" for m in missing)
            hint = f"这里还缺 {wanted}：`{path[-1]}` 是否应写作 `{missing[0]}`？"
        else:
            hint = "allowed keys are listed in docs/rule-language.md"
        return RuleError(loaded.key_where(path), message, hint)
    if err["type"] == "missing":
        return RuleError(loaded.where(path), f"missing key `{path[-1]}`")
    text, why = pydantic_problem(err, keys)
    return RuleError(loaded.where(path), text, why)


def compile_file(
    path: Path, facts: FactCatalogue, display: str, *, kind: Kind | None = None
) -> CompiledPolicy | CompiledBundle:
    """Load, validate and compile one policy or bundle file.

    Args:
        path: the file.
        facts: the fact catalogue its expressions name.
        display: how the file is named in messages.
        kind: policy or bundle; by default a bundle is a file in a `bundles/` folder.

    Raises:
        RuleError: the first problem, at its `file:line:col`.
    """
    loaded = load_file(path, display=display)
    kind = kind or ("bundle" if path.parent.name == BUNDLES_DIR else "policy")
    model = BundleFile if kind == "bundle" else PolicyFile
    try:
        spec = model.model_validate(loaded.data)
    except ValidationError as exc:
        raise validation_error(exc, loaded) from None
    if isinstance(spec, BundleFile):
        scope = Scope(facts, spec.subject)
        gate = _condition(spec.gate.when, spec.gate.says, ("gate", "when"), scope, loaded)
        return CompiledBundle(spec, display, gate, loaded)
    return _compile_policy(spec, facts, loaded, display)


def _compile_policy(
    spec: PolicyFile, facts: FactCatalogue, loaded: Loaded, display: str
) -> CompiledPolicy:
    params = {name: _param_type(name, p, loaded) for name, p in spec.parameters.items()}
    scope = Scope(facts, spec.subject, params)
    conds = tuple(
        _condition(c.when, c.says, ("eligible", i, "when"), scope, loaded)
        for i, c in enumerate(spec.eligible)
    )
    amount = None
    if spec.benefit is not None:
        amount_scope = Scope(facts, spec.subject, params, "amount", scope.used_params)
        text = str(spec.benefit.amount)
        where = loaded.expression_start(("benefit", "amount"))
        amount = parse(text, amount_scope, where, expect="number")
    return CompiledPolicy(spec, display, conds, amount, loaded)


def _param_type(name: str, param: Parameter, loaded: Loaded) -> FactType:
    kinds = {"string" if isinstance(v, str) else "number" for v in param.values.values()}
    if len(kinds) != 1:
        raise RuleError(
            loaded.where(("parameters", name)),
            f"parameter `{name}` mixes numbers and strings",
            "every dated value of a parameter has one type",
        )
    return "string" if kinds == {"string"} else "number"


def _condition(
    text: str, says: str, path: tuple[Any, ...], scope: Scope, loaded: Loaded
) -> CompiledCondition:
    where = loaded.expression_start(path)
    expr = parse(text, scope, where, expect="bool")
    return CompiledCondition(expr, says, text, where)


def rule_files(root: Path) -> list[Path]:
    """Every policy and bundle file under `root` (not the fact catalogue, not reactions, not the
    workflow or holiday files), sorted."""
    return sorted(
        p
        for p in root.rglob("*.yaml")
        if p.name != FACTS_FILE and not is_reaction_file(p) and not is_side_file(p)
    )


def side_files(root: Path) -> list[Path]:
    """The workflow and holiday files of the catalogue at `root` that exist (`SIDE_FILES` order)."""
    return [root / name for name in SIDE_FILES if (root / name).is_file()]


def is_side_file(path: Path) -> bool:
    """Whether `path` is the workflow or holiday file of a catalogue (beside its facts.yaml)."""
    return path.name in SIDE_FILES and (path.parent / FACTS_FILE).is_file()


def reaction_files(root: Path) -> list[Path]:
    """Every delivery reaction file of the catalogue at `root` (`reactions/*.yaml`), sorted."""
    return sorted((root / REACTIONS_DIR).glob("*.yaml"))


def is_reaction_file(path: Path) -> bool:
    """Whether `path` is a delivery reaction file (it sits in a `reactions/` folder)."""
    return path.parent.name == REACTIONS_DIR


def catalogue_paths(root: Path) -> list[Path]:
    """Every file a catalogue version is made of, in hashing order: facts, rules, reactions, and
    the workflow and holiday files."""
    return [root / FACTS_FILE, *rule_files(root), *reaction_files(root), *side_files(root)]


def load_catalogue(root: Path | str) -> Catalogue:
    """Load the whole catalogue under `root` (a `policies/` folder).

    Raises:
        RuleError: the first problem found; run `zhida lint` to see all of them.
    """
    base = Path(root)
    facts = load_facts(base)
    policies: dict[str, CompiledPolicy] = {}
    bundles: dict[str, CompiledBundle] = {}
    digest = hashlib.sha256((base / FACTS_FILE).read_bytes())
    for path in [*reaction_files(base), *side_files(base)]:  # in the version, loaded elsewhere
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    for path in rule_files(base):
        display = str(path)
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
        item = compile_file(path, facts, display)
        target: dict[str, Any] = bundles if isinstance(item, CompiledBundle) else policies
        if item.id in target:
            raise RuleError(
                Location(display, 1, 1),
                f"id `{item.id}` is used twice",
                f"also in {target[item.id].path}",
            )
        target[item.id] = item
    catalogue = Catalogue(facts, policies, bundles, digest.hexdigest()[:16])
    problems = cross_check(catalogue)
    if problems:
        raise problems[0]
    return catalogue


def entry_of(item: CompiledPolicy | CompiledBundle) -> Entry:
    """What cross-file checks need of a compiled file (its problems are reported)."""
    if isinstance(item, CompiledBundle):
        s = item.spec
        return Entry(
            "bundle", s.id, item.path, s.subject, members=tuple(s.members), loaded=item.loaded
        )
    p = item.spec
    return Entry(
        "policy",
        p.id,
        item.path,
        p.subject,
        p.bundle,
        excludes=tuple(p.excludes),
        loaded=item.loaded,
    )


def cross_check(catalogue: Catalogue) -> list[RuleError]:
    """Problems that span files: unknown `excludes`, bundle members and bundle references."""
    items: list[CompiledPolicy | CompiledBundle] = [*catalogue.policies.values()]
    items += catalogue.bundles.values()
    return check_entries(entry_of(item) for item in items)
