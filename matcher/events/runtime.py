"""The event engine's runtime: the only module that imports `durable`.

Rulesets compiled by `matcher.events.compiler` are created once per process under their
content-named ids, and each profile is asserted as one fact, every rule that fired collected by
its name, and the fact retracted. The eligible set equals the interpreter's
(`matcher.interpreter.match.eligible_ids`); a profile durable-rules cannot evaluate (error 303)
falls back to the interpreter, logged. The traps measured on durable-rules, and how the compiler
and this runtime avoid them, are listed in `matcher.events.compiler`.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from durable import engine as _durable

from matcher.events.compiler import compile_rulesets
from matcher.events.encoding import Formula, Normaliser, dumps
from matcher.interpreter.evaluate import evaluate_expr
from matcher.interpreter.match import eligible_ids
from matcher.profiles.errors import EngineError
from matcher.profiles.facts import Facts
from rules.catalogue import Catalogue

__all__ = ["BUILD_TIMEOUT", "MAX_RULES", "EventEngine", "Fired", "create_rulesets", "fire"]

MAX_RULES = 64  # a 65th rule matching one fact in one ruleset fails with error 303
BUILD_TIMEOUT = 20.0  # seconds; create_ruleset was seen to hang on some large rulesets
_ERROR_CODE = re.compile(r"error code: (\d+)")

log = logging.getLogger(__name__)
# The raw binding, reached through `durable` so that the import contract still names it;
# durable's Host is not used: its timer threads race asserts (DESIGN.md).
_dre = _durable.durable_rules_engine


@dataclass(frozen=True)
class Fired:
    """What fired for one profile: eligible policy ids and open bundle ids."""

    policies: frozenset[str]
    bundles: frozenset[str]


# --- the process-wide durable-rules runtime --------------------------------------------------


class _Runtime:
    """Every ruleset this process created, by name; one lock serialises all engine calls."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.handles: dict[str, int] = {}
        self.ids = itertools.count(1)

    def create(self, named: list[tuple[str, str]], timeout: float | None) -> list[int]:
        with self.lock:
            todo = [(n, t) for n, t in named if n not in self.handles]
            if todo:
                _probe(todo, timeout)
            for name, text in todo:
                try:
                    self.handles[name] = _dre.create_ruleset(name, text)
                except _dre.error as exc:
                    raise EngineError(f"durable-rules refused ruleset {name}: {exc}") from exc
            return [self.handles[n] for n, _ in named]

    def fits(self, formula: Formula) -> bool:
        """Whether durable-rules accepts `formula` as a rule (False on error 113)."""
        with self.lock:
            text = dumps({"r": {"all": [{"m": formula}]}})
            try:
                handle = _dre.create_ruleset(f"zhida.trial.{next(self.ids)}", text)
            except _dre.error as exc:
                if "error code: 113" in str(exc):
                    return False
                raise EngineError(f"durable-rules refused a rule: {exc}") from exc
            _dre.delete_ruleset(handle)  # never asserted into: deleting it is safe
            return True

    def fire(self, handles: Sequence[int], body: str) -> list[str]:
        with self.lock:
            text = f'{{"sid":"0","id":"{next(self.ids)}",{body}'
            names: list[str] = []
            for handle in handles:
                names.extend(_assert_retract(handle, text))
            return names


def _assert_retract(handle: int, text: str) -> list[str]:
    try:
        result = _dre.assert_fact(handle, text)
    except _dre.error as exc:
        _retract(handle, text)
        found = _ERROR_CODE.search(str(exc))
        raise EngineError(f"durable-rules error {found[1] if found else exc}") from exc
    names: list[str] = []
    try:
        if result[0] == 0:  # 1 = no rule matched: "no match", not an error
            action = _dre.start_action_for_state(handle, result[1])
            message = action[1] if action else None
            while message:
                names.append(message[2 : message.index('"', 2)])  # '{"<rule>": {...}}'
                message = _dre.complete_and_start_action(handle, result[1])
    finally:
        _retract(handle, text)
    return names


def _retract(handle: int, text: str) -> None:
    try:
        _dre.retract_fact(handle, text)
    except _dre.error:
        log.debug("retract after a failed assert found nothing to retract")


def _probe(named: list[tuple[str, str]], timeout: float | None) -> None:
    """Build the rulesets once in a forked child, killed after `timeout` seconds if it hangs."""
    if timeout is None or not hasattr(os, "fork"):
        return
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            for name, text in named:
                _dre.create_ruleset(name, text)
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout
    while time.monotonic() <= deadline:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return
        time.sleep(0.001)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise EngineError(f"building {len(named)} ruleset(s) took over {timeout} s")


_RUNTIME = _Runtime()


def create_rulesets(
    named: Sequence[tuple[str, str]], timeout: float | None = BUILD_TIMEOUT
) -> tuple[int, ...]:
    """Handles of rulesets given as (name, JSON text), each created once per process.

    Names must be content-derived: a name already created is reused, not rebuilt. Each rule
    of a ruleset should fire at most once per fact and a ruleset hold at most `MAX_RULES`
    rules (more firings for one fact overflow durable-rules' stack, error 303).

    Raises:
        EngineError: durable-rules refuses a ruleset, or building it timed out.
    """
    return tuple(_RUNTIME.create(list(named), timeout))


def fire(handles: Sequence[int], fact: str) -> list[str]:
    """The names of the rules that fire for one fact, asserted and retracted in each ruleset.

    Args:
        handles: rulesets from `create_rulesets`.
        fact: one JSON object (written with `matcher.events.encoding.dumps`), without `sid`
            and `id`, which are added here; nothing of it stays in the engine.

    Raises:
        EngineError: durable-rules failed on the fact (the fact is retracted all the same).
    """
    if not (fact.startswith("{") and len(fact) > 2):
        raise ValueError("a fact is a non-empty JSON object")
    return _RUNTIME.fire(handles, fact[1:])


# --- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """One subject's rulesets and the normaliser that writes its facts."""

    names: tuple[str, ...]
    handles: tuple[int, ...]
    normaliser: Normaliser
    rules: int


class EventEngine:
    """A catalogue at one date as durable-rules rulesets; one profile at a time.

    Args:
        catalogue: the loaded catalogue; its `version` names the rulesets.
        on: the evaluation date: policies out of force are left out, parameters are bound.
        max_rules: rules, and possible firings for one fact, per ruleset (at most 100;
            above 64 a profile firing more than 64 of them fails with error 303 and is
            answered by the interpreter).
        build_timeout: seconds a ruleset build may take (None: no limit).

    Raises:
        EngineError: a ruleset cannot be built, or building timed out.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        on: date,
        *,
        max_rules: int = MAX_RULES,
        build_timeout: float | None = BUILD_TIMEOUT,
    ) -> None:
        if not 1 <= max_rules <= 100:
            raise ValueError(f"max_rules must be 1–100, got {max_rules}")
        self.catalogue = catalogue
        self.on = on
        self.fallbacks = 0
        self._plans = {
            s: self._build(s, max_rules, build_timeout) for s in ("household", "enterprise")
        }

    @property
    def ruleset_names(self) -> tuple[str, ...]:
        """Every ruleset this engine asserts into."""
        return tuple(n for p in self._plans.values() for n in p.names)

    def _build(self, subject: str, limit: int, timeout: float | None) -> _Plan:
        named, norm, rules = compile_rulesets(
            self.catalogue, self.on, subject, limit, _RUNTIME.fits
        )
        handles = _RUNTIME.create(named, timeout)
        return _Plan(tuple(n for n, _ in named), tuple(handles), norm, rules)

    def match(self, facts: Facts, subject: str) -> Fired:
        """The policies and bundle gates that definitely hold for one profile.

        Raises:
            ProfileError: a fact has the wrong type for its catalogue entry.
        """
        plan = self._plans.get(subject)
        if plan is None or not plan.handles:
            return Fired(frozenset(), frozenset())
        try:
            names = _RUNTIME.fire(plan.handles, plan.normaliser.body(facts))
        except EngineError as exc:
            self.fallbacks += 1
            log.warning("event engine fell back to the interpreter: %s", exc)
            return self._interpret(facts, subject)
        return Fired(
            frozenset(n[2:] for n in names if n.startswith("p:")),
            frozenset(n[2:] for n in names if n.startswith("b:")),
        )

    def _interpret(self, facts: Facts, subject: str) -> Fired:
        bundles = frozenset(
            bid
            for bid, b in self.catalogue.bundles.items()
            if b.spec.subject == subject and evaluate_expr(b.gate.expr, facts)[0] is True
        )
        return Fired(frozenset(eligible_ids(self.catalogue, facts, self.on, subject)), bundles)

    def eligible(self, facts: Facts, subject: str) -> set[str]:
        """Ids of the policies whose every condition holds (before `excludes`)."""
        return set(self.match(facts, subject).policies)

    def bundles_open(self, facts: Facts, subject: str) -> set[str]:
        """Ids of the bundles whose gate holds."""
        return set(self.match(facts, subject).bundles)

    def bundle_members(self, facts: Facts, subject: str) -> dict[str, set[str]]:
        """Each open bundle with its member policies that hold: the chain 低保 → follow-ons."""
        fired = self.match(facts, subject)
        return {
            b: {m for m in self.catalogue.bundles[b].spec.members if m in fired.policies}
            for b in fired.bundles
        }
