"""Delivery reactions: what happens when an event arrives, authored as data beside the policies.

A reaction file, `policies/reactions/<name>.yaml`, says for each event (`dibao_granted`,
`child_born`, …) which actions follow: `re-evaluate` the subject's policies now, `notify` the
subject and its village, `end-from-date` a bundle's follow-ons. The matcher still decides *who
qualifies*; reactions decide *what happens*. The files are checked here (schema, event names,
verbs, policy and bundle ids, tests) and run by `matcher.events.reactions` on durable-rules.

The vocabularies are tables: `EVENTS` (name → label, subjects it can be about) and `VERBS`
(name → label, the pydantic model of its arguments, how they are normalised). The claims issue
adds `open-claim` and `withdraw-claim` by adding rows to `VERBS`. The language is documented in
docs/rule-language.md, "Delivery reactions".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from rules.catalogue import Catalogue, reaction_files, validation_error
from rules.errors import Location, RuleError
from rules.reaction_schema import ReactionFileSpec, ReactionSpec, ReactionTest, Scalar
from rules.reaction_verbs import VERBS, Ids
from rules.yaml_safe import Loaded, load_file

__all__ = [
    "EVENTS",
    "VERBS",
    "CompiledAction",
    "CompiledReaction",
    "EventKind",
    "Ids",
    "ReactionFile",
    "check_reaction_file",
    "duplicate_ids",
    "load_reactions",
]

Subject = Literal["household", "enterprise"]
BOTH: tuple[Subject, ...] = ("household", "enterprise")
HOUSEHOLD: tuple[Subject, ...] = ("household",)


@dataclass(frozen=True)
class EventKind:
    """One event name of the vocabulary: its Chinese label and the subjects it can be about."""

    label: str
    subjects: tuple[Subject, ...]


# The event vocabulary. Deadline events (a deadline row a job turns into an event when due)
# are named `<what>_due`/`<what>_end`; `followons_end` is the end date of a lapsed bundle's
# follow-ons reached.
EVENTS: dict[str, EventKind] = {
    "dibao_granted": EventKind("低保认定（在册）", HOUSEHOLD),
    "dibao_lapsed": EventKind("低保退出", HOUSEHOLD),
    "tekun_granted": EventKind("特困供养认定（在册）", HOUSEHOLD),
    "tekun_lapsed": EventKind("特困供养终止", HOUSEHOLD),
    "child_born": EventKind("新生儿出生（入户）", HOUSEHOLD),
    "member_died": EventKind("家庭成员死亡", HOUSEHOLD),
    "member_moved": EventKind("家庭成员迁出", HOUSEHOLD),
    "member_added": EventKind("家庭成员迁入（非新生儿）", HOUSEHOLD),
    "enterprise_registered": EventKind("企业登记", ("enterprise",)),
    "disability_assessed": EventKind("残疾评定（等级或类别设定、变化）", HOUSEHOLD),
    "profile_changed": EventKind("档案变更（任何事实变化）", BOTH),
    "followons_end": EventKind("后续待遇截止日已到", BOTH),
}
RESERVED_ATTRIBUTES = frozenset({"event", "subject", "sid", "id", "t"})


@dataclass(frozen=True)
class CompiledAction:
    """One checked action: its verb, normalised arguments and where it was written."""

    verb: str
    args: Mapping[str, Any]
    location: Location


@dataclass(frozen=True)
class CompiledReaction:
    """One checked reaction: the event it matches, its conditions and actions."""

    file_id: str
    index: int
    on: str
    subject: Subject | None
    when: tuple[tuple[str, tuple[Scalar, ...]], ...]
    says: str | None
    actions: tuple[CompiledAction, ...]
    location: Location

    @property
    def name(self) -> str:
        """`<file id>#<index>`: how the reaction is named in durable-rules, output and audit."""
        return f"{self.file_id}#{self.index}"


@dataclass(frozen=True)
class ReactionFile:
    """A checked reaction file."""

    spec: ReactionFileSpec
    path: str
    reactions: tuple[CompiledReaction, ...]
    loaded: Loaded = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        """The file's id (`reactions.dibao`)."""
        return self.spec.id

    def test_location(self, index: int) -> Location:
        """Where test `index` is written."""
        return self.loaded.where(("tests", index))


_ENGLISH = {"事件": "event", "动词": "verb"}


def _unknown(where: Location, what: str, name: str, known: Iterable[str], hint: str) -> RuleError:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    message = f"未知的{what} `{name}` (unknown {_ENGLISH.get(what, what)})"
    return RuleError(where, message, _did_you_mean(close, hint))


def _did_you_mean(close: list[str], hint: str) -> str:
    return f"did you mean `{close[0]}`? {hint}" if close else hint


_EVENT_HINT = "事件名见 rules/reactions.py 的 EVENTS 与 docs/rule-language.md"


def _event_problems(
    name: str, subject: Subject | None, loaded: Loaded, path: tuple[Any, ...]
) -> list[RuleError]:
    kind = EVENTS.get(name)
    if kind is None:
        return [_unknown(loaded.where(path), "事件", name, EVENTS, _EVENT_HINT)]
    if subject is not None and subject not in kind.subjects:
        allowed = "、".join(kind.subjects)
        return [
            RuleError(
                loaded.where((*path[:-1], "subject")),
                f"事件 `{name}`（{kind.label}）不会发生在 {subject} 上",
                f"它的主体只能是 {allowed}",
            )
        ]
    return []


def _when(
    spec: ReactionSpec, loaded: Loaded, path: tuple[Any, ...]
) -> tuple[tuple[tuple[str, tuple[Scalar, ...]], ...], list[RuleError]]:
    problems = [
        RuleError(
            loaded.key_where((*path, "when", key)),
            f"`when` 不能按 `{key}` 过滤 (reserved attribute)",
            "事件名写在 `on:`，主体写在 `subject:`；其余键是事件的属性",
        )
        for key in spec.when
        if key in RESERVED_ATTRIBUTES
    ]
    when = tuple(
        (key, tuple(value) if isinstance(value, list) else (value,))
        for key, value in sorted(spec.when.items())
    )
    return when, problems


def _verb_of(item: Any) -> str:
    """The verb an action item names (`verb` or `{verb: args}`), as written."""
    if isinstance(item, dict) and len(item) == 1:
        return str(next(iter(item)))
    return item if isinstance(item, str) else ""


def _action(
    item: Any, ids: Ids, loaded: Loaded, path: tuple[Any, ...]
) -> tuple[CompiledAction | None, list[RuleError]]:
    """One `do:` item: `verb` or `{verb: args}`, checked against the verb table."""
    if isinstance(item, str):
        verb, raw = item, None
    elif isinstance(item, dict) and len(item) == 1:
        verb, raw = next(iter(item.items()))
        path = (*path, verb)
    else:
        shown = "、".join(f"`{k}`" for k in item) if isinstance(item, dict) else repr(item)
        return None, [
            RuleError(
                loaded.where(path),
                f"一个动作只能写一个动词，实际为 {shown}",
                "写作 `- notify: [subject]`；参数放在动词之下，如 "
                "`- notify: {to: [subject], package: true}`",
            )
        ]
    spec = VERBS.get(str(verb))
    if spec is None:
        hint = "可用的动词：" + "、".join(f"`{v}`" for v in VERBS)
        where = loaded.key_where(path) if isinstance(item, dict) else loaded.where(path)
        return None, [_unknown(where, "动词", str(verb), VERBS, hint)]
    try:
        args = spec.normalise(spec.parse(raw), ids, loaded, path)
    except ValidationError as exc:
        return None, [validation_error(exc, loaded, path)]
    except RuleError as exc:
        return None, [exc]
    return CompiledAction(spec.name, args, loaded.where(path)), []


def _reaction(
    spec: ReactionSpec, index: int, file_id: str, ids: Ids, loaded: Loaded
) -> tuple[CompiledReaction, list[RuleError]]:
    path: tuple[Any, ...] = ("reactions", index)
    problems = _event_problems(spec.on, spec.subject, loaded, (*path, "on"))
    when, more = _when(spec, loaded, path)
    problems += more
    if not spec.do:
        problems.append(
            RuleError(
                loaded.where((*path, "do")),
                f"对 `{spec.on}` 的反应没有动作 (a reaction with no action)",
                "在 `do:` 下至少写一个动作，如 `- re-evaluate: {}`",
            )
        )
    actions = []
    for i, item in enumerate(spec.do):
        action, more = _action(item, ids, loaded, (*path, "do", i))
        problems += more
        actions += [action] if action is not None else []
    compiled = CompiledReaction(
        file_id, index, spec.on, spec.subject, when, spec.says, tuple(actions), loaded.where(path)
    )
    return compiled, problems


def _test_problems(
    test: ReactionTest, index: int, verbs: set[str], loaded: Loaded
) -> list[RuleError]:
    path: tuple[Any, ...] = ("tests", index)
    event = test.event
    problems = _event_problems(event.name, event.subject, loaded, (*path, "event", "name"))
    problems += [
        RuleError(
            loaded.key_where((*path, "event", "attributes", key)),
            f"事件属性不能叫 `{key}` (reserved attribute)",
            "事件名写在 `name:`，主体写在 `subject:`",
        )
        for key in test.event.attributes
        if key in RESERVED_ATTRIBUTES
    ]
    for i, verb in enumerate(test.expect):
        where = loaded.where((*path, "expect", i))
        if verb not in VERBS:
            problems.append(_unknown(where, "动词", verb, VERBS, "expect 列出预期动作的动词"))
        elif verb not in verbs:
            problems.append(
                RuleError(
                    where,
                    f"用例「{test.name}」预期 `{verb}`，但本文件没有任何反应会做 `{verb}`",
                    "本文件的反应所用动词：" + ("、".join(sorted(verbs)) or "（无）"),
                )
            )
    return problems


def check_reaction_file(
    path: Path, ids: Ids, display: str | None = None
) -> tuple[ReactionFile | None, list[RuleError]]:
    """Load and check one reaction file: every problem, and the file when it has none.

    Args:
        path: the file.
        ids: the catalogue's policy and bundle ids (bundles with their members).
        display: how the file is named in messages (default: `path`).

    Returns:
        The checked file (None when it has a problem) and every problem found, each at its
        `file:line:col`.
    """
    name = display or str(path)
    try:
        loaded = load_file(path, display=name)
        spec = ReactionFileSpec.model_validate(loaded.data)
    except RuleError as exc:
        return None, [exc]
    except ValidationError as exc:
        return None, [validation_error(exc, loaded)]
    problems: list[RuleError] = []
    reactions = []
    for i, r in enumerate(spec.reactions):
        compiled, more = _reaction(r, i, spec.id, ids, loaded)
        reactions.append(compiled)
        problems += more
    verbs = {_verb_of(item) for r in spec.reactions for item in r.do} & set(VERBS)
    for i, test in enumerate(spec.tests):
        problems += _test_problems(test, i, verbs, loaded)
    if problems:
        return None, problems
    return ReactionFile(spec, name, tuple(reactions), loaded), []


def duplicate_ids(files: Iterable[ReactionFile]) -> list[RuleError]:
    """A reaction file id used twice (reported at the later file)."""
    seen: dict[str, ReactionFile] = {}
    problems = []
    for f in files:
        first = seen.setdefault(f.id, f)
        if first is not f:
            problems.append(
                RuleError(
                    f.loaded.where(("id",)),
                    f"反应文件 id `{f.id}` 重复 (id used twice)",
                    f"also in {first.path}; every reaction file needs its own id",
                )
            )
    return problems


def load_reactions(root: Path, catalogue: Catalogue) -> list[ReactionFile]:
    """Every reaction file of the catalogue at `root`, checked against `catalogue`.

    Raises:
        RuleError: the first problem found; `zhida lint` shows all of them.
    """
    ids = Ids.of_catalogue(catalogue)
    files = []
    for path in reaction_files(root):
        checked, problems = check_reaction_file(path, ids)
        if problems:
            raise problems[0]
        assert checked is not None
        files.append(checked)
    problems = duplicate_ids(files)
    if problems:
        raise problems[0]
    return files
