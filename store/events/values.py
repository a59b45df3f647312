"""`FACT=VALUE` as typed on a command line, read by the fact's type in `facts.yaml`.

- number: exact (`Decimal`, or `int` for a whole number), `1,200` and `1200.50` alike; never a
  float. - date: ISO `YYYY-MM-DD`. - bool: 是/否, true/false, yes/no, 1/0. - a string with
  declared values: the code (`active`) or its Chinese label (`在册`). - `FACT=` (nothing after
  the `=`): remove the fact (unknown from now on).

Each refusal is one `ValueTextError` in Chinese naming the fact, what was found and what was
expected; a misspelt fact name gets a did-you-mean.

    facts = read_assignments(["dibao_status=在册", "monthly_income=1200.5"], catalogue.facts,
                             level="household")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from matcher.profiles.masking import mask_ids_in_text
from rules.errors import ZhidaError
from rules.facts import FactCatalogue, FactDef, FactLevel, FactValue

__all__ = ["LEVEL_NAMES", "ValueTextError", "read_assignments", "read_value", "unknown_fact"]

LEVEL_NAMES = {"household": "户", "member": "成员", "enterprise": "企业"}
_TRUE = {"是", "true", "yes", "y", "1", "对", "有"}
_FALSE = {"否", "false", "no", "n", "0", "不", "无"}


class ValueTextError(ZhidaError):
    """A `FACT=VALUE` that names no fact of this level, or a value its type cannot take."""


def _shown(text: str) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return repr(mask_ids_in_text(shown))


def unknown_fact(name: str, facts: FactCatalogue, level: FactLevel) -> str | None:
    """Why `name` cannot be set on a `level` profile (in Chinese), or None when it can."""
    fact = facts.get(name)
    where = LEVEL_NAMES[level]
    if fact is None:
        guess = facts.suggest(name, level) or facts.suggest(name)
        hint = f"；是否想写 {guess}？" if guess else "；应为 facts.yaml 中声明的事实"
        return f"未知的事实 {_shown(name)}（unknown fact）{hint}"
    if fact.derived:
        return f"{name}（{fact.label or fact.meaning}）由其他信息推算（derived），不能直接设置"
    if fact.level != level:
        other = LEVEL_NAMES.get(fact.level, fact.level)
        hint = "：用 --member 身份证号 指定成员" if fact.level == "member" else ""
        return f"{name} 是{other}的事实，不是{where}的事实{hint}"
    return None


def _number(text: str) -> FactValue:
    try:
        value = Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise ValueError("应为数字（如 1200 或 1200.50）") from None
    if not value.is_finite():
        raise ValueError("应为有限的数字")
    return int(value) if value == value.to_integral_value() and "." not in text else value


def _bool(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError("应为 是/否（或 true/false）")


def _choice(fact: FactDef, text: str) -> str:
    assert fact.values is not None
    if text in fact.values:
        return text
    by_label = {label: code for code, label in (fact.value_labels or {}).items()}
    if text in by_label:
        return by_label[text]
    shown = "、".join(
        f"{v}（{fact.value_labels[v]}）" if fact.value_labels and v in fact.value_labels else v
        for v in fact.values
    )
    raise ValueError(f"应为 {shown} 之一")


def read_value(fact: FactDef, text: str) -> FactValue | None:
    """The typed value of `text` for `fact`, or None for an empty text (remove the fact).

    Raises:
        ValueTextError: the text is not a value of the fact's type (the message says which).
    """
    text = text.strip()
    if text == "":
        return None
    try:
        if fact.type == "number":
            value = _number(text)
        elif fact.type == "date":
            try:
                value = date.fromisoformat(text)
            except ValueError:
                raise ValueError("应为真实存在的日期 YYYY-MM-DD") from None
        elif fact.type == "bool":
            value = _bool(text)
        elif fact.values is not None:
            value = _choice(fact, text)
        else:
            value = text
    except ValueError as exc:
        label = f"（{fact.label}）" if fact.label else ""
        raise ValueTextError(f"{fact.name}{label}={_shown(text)}：{exc}") from None
    problem = fact.domain_problem(value) if fact.type != "date" else None
    if problem is not None:
        raise ValueTextError(f"{fact.name}={_shown(text)}：{problem}")
    return value


def read_assignments(
    texts: Sequence[str], facts: FactCatalogue, *, level: FactLevel
) -> dict[str, FactValue | None]:
    """`FACT=VALUE` texts as typed facts (None: remove), checked against `level`.

    Raises:
        ValueTextError: a text without `=`, an unknown fact, a fact of another level, a
            derived fact, a fact given twice, or a value its type cannot take.
    """
    out: dict[str, FactValue | None] = {}
    if not texts:
        raise ValueTextError("没有要设置的事实：应为 事实=值（如 dibao_status=active）")
    for text in texts:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueTextError(f"{_shown(text)}：应为 事实=值（如 dibao_status=active）")
        if (problem := unknown_fact(name, facts, level)) is not None:
            raise ValueTextError(problem)
        if name in out:
            raise ValueTextError(f"{name} 出现了两次：每个事实只能设置一次")
        fact = facts.get(name)
        assert fact is not None
        out[name] = read_value(fact, raw)
    return out
