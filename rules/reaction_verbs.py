"""The verbs of delivery reactions, as a table: name → label, argument model, normaliser.

To add a verb (the claims issue adds `open-claim` and `withdraw-claim`): write its argument
model and a normaliser returning plain, hashable values, and add a `Verb` row to `VERBS`. The
runtime (`matcher.events.reactions`) hands actions out by verb name; what a verb *does* is the
store's (the events path), never decided here.

Normalised arguments:
    re-evaluate    {"policies": tuple[str, ...] | None, "bundle": str | None}  (None: all)
    notify         {"to": ("subject", "village"), "package": bool}
    end-from-date  {"policies": tuple[str, ...], "bundle": str | None, "from": str}
                   `from` is "first_of_next_month", "event_date" or "days:N" (N days after
                   the event's date); `matcher.events.reactions.effective_date` reads it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.errors import RuleError
from rules.schema import PolicyId
from rules.yaml_safe import Loaded

if TYPE_CHECKING:
    from rules.catalogue import Catalogue
    from rules.crossref import Entry

__all__ = ["VERBS", "Ids", "Verb"]

Recipient = Literal["subject", "village"]
STARTS = ("first_of_next_month", "event_date")
MAX_DAYS = 366
Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Ids:
    """What reactions may name: policy ids, and bundle ids with their members."""

    policies: frozenset[str]
    bundles: Mapping[str, tuple[str, ...]]

    @classmethod
    def of_catalogue(cls, catalogue: Catalogue) -> Ids:
        """The ids of a loaded catalogue."""
        bundles = {b: tuple(c.spec.members) for b, c in catalogue.bundles.items()}
        return cls(frozenset(catalogue.policies), bundles)

    @classmethod
    def of_entries(cls, entries: Iterable[Entry]) -> Ids:
        """The ids of rule files as their neighbours see them (`rules.crossref.Entry`)."""
        every = list(entries)
        policies = frozenset(e.id for e in every if e.kind == "policy")
        return cls(policies, {e.id: e.members for e in every if e.kind == "bundle"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Targets(_Strict):
    bundle: PolicyId | None = None
    policies: list[PolicyId] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _not_both(self) -> _Targets:
        if self.bundle is not None and self.policies is not None:
            raise ValueError("`bundle` 与 `policies` 只能写一个 (one of bundle or policies)")
        return self


class ReEvaluateArgs(_Targets):
    """`re-evaluate`: which policies to evaluate again now (none named: all of the subject's)."""


class NotifyArgs(_Strict):
    """`notify`: who hears of the outcome; `package` sends the whole policy package."""

    to: list[Recipient] = Field(min_length=1)
    package: bool = False


class EndFromDateArgs(_Targets):
    """`end-from-date`: which entitlements end, and from when."""

    start: str | int = Field(alias="from")

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> str | int:
        if value in STARTS or (type(value) is int and 0 <= value <= MAX_DAYS):
            return value  # type: ignore[no-any-return]
        raise ValueError(
            f"`from` 应为 first_of_next_month（次月1日）、event_date（事件当日）或 0–{MAX_DAYS} "
            f"的整数（事件后第几天），实际为 {value!r}"
        )

    @model_validator(mode="after")
    def _named(self) -> EndFromDateArgs:
        if self.bundle is None and self.policies is None:
            raise ValueError(
                "`end-from-date` 要写明结束哪些政策：`bundle: <一件事 id>` 或 `policies: [...]`"
            )
        return self


def _targets(args: _Targets, ids: Ids, loaded: Loaded, path: Path_) -> tuple[str, ...] | None:
    """The policy ids named (a bundle's members), each checked against the catalogue."""
    if args.bundle is not None:
        if args.bundle not in ids.bundles:
            close = difflib.get_close_matches(args.bundle, sorted(ids.bundles), n=1)
            raise RuleError(
                loaded.where((*path, "bundle")),
                f"一件事 `{args.bundle}` 不存在 (unknown bundle)",
                f"did you mean `{close[0]}`?" if close else "bundle ids are in policies/bundles/",
            )
        return ids.bundles[args.bundle]
    if args.policies is None:
        return None
    for i, pid in enumerate(args.policies):
        if pid not in ids.policies:
            close = difflib.get_close_matches(pid, sorted(ids.policies), n=1)
            raise RuleError(
                loaded.where((*path, "policies", i)),
                f"政策 `{pid}` 不存在 (unknown policy)",
                f"did you mean `{close[0]}`?" if close else "no policy has that id",
            )
    return tuple(args.policies)


def _re_evaluate(args: Any, ids: Ids, loaded: Loaded, path: Path_) -> dict[str, Any]:
    return {"policies": _targets(args, ids, loaded, path), "bundle": args.bundle}


def _notify(args: Any, ids: Ids, loaded: Loaded, path: Path_) -> dict[str, Any]:
    to = tuple(r for r in ("subject", "village") if r in args.to)  # one order, no repeats
    return {"to": to, "package": args.package}


def _end_from_date(args: Any, ids: Ids, loaded: Loaded, path: Path_) -> dict[str, Any]:
    start = args.start if isinstance(args.start, str) else f"days:{args.start}"
    return {"policies": _targets(args, ids, loaded, path), "bundle": args.bundle, "from": start}


def _as_mapping(raw: Any) -> Any:
    return {} if raw is None else raw


def _recipients(raw: Any) -> Any:
    if isinstance(raw, str):
        return {"to": [raw]}
    return {"to": raw} if isinstance(raw, list) else _as_mapping(raw)


Normaliser = Callable[[Any, Ids, Loaded, Path_], dict[str, Any]]


@dataclass(frozen=True)
class Verb:
    """One verb: its label, its argument model, a shorthand reader and a normaliser."""

    name: str
    label: str
    model: type[BaseModel]
    normalise: Normaliser
    shorthand: Callable[[Any], Any] = _as_mapping

    def parse(self, raw: Any) -> BaseModel:
        """The authored arguments (after the shorthand) validated by the verb's model.

        Raises:
            ValidationError: the arguments do not fit the model.
        """
        return self.model.model_validate(self.shorthand(raw))


VERBS: dict[str, Verb] = {
    v.name: v
    for v in (
        Verb("re-evaluate", "立即重新评估", ReEvaluateArgs, _re_evaluate),
        Verb("notify", "通知", NotifyArgs, _notify, _recipients),
        Verb("end-from-date", "自某日起停止待遇", EndFromDateArgs, _end_from_date),
    )
}
