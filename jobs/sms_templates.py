"""The registered SMS templates (`jobs/templates/sms.yaml`): codes, texts, param limits.

A gateway sends only templates registered with it: a code, and a text with `${param}`
placeholders that the gateway fills from the params sent. Each param has a limit in characters;
every text with every param at its limit is at most `SMS_MAX` characters (one SMS), checked when
the file is loaded. Names and titles are cut to fit and end in "…"; amounts, dates and links are
never cut: a template that would need one that is too long is passed over for the next of its
kind (`choose`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["LIMITS", "SMS_MAX", "SMS_TEMPLATES", "SmsTemplate", "choose", "fit", "sms_text"]

SMS_MAX = 70
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
_UNCUT = frozenset({"amount", "before", "date", "link"})  # wrong if cut: pass over instead


@dataclass(frozen=True)
class SmsTemplate:
    """One registered template: its notice kind, text and the params the text names."""

    code: str
    kind: str
    text: str
    params: tuple[str, ...]


def _load(path: Path) -> tuple[dict[str, int], dict[str, SmsTemplate]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    limits = {str(k): int(v) for k, v in raw["limits"].items()}
    templates = {}
    for code, spec in raw["templates"].items():
        params = tuple(dict.fromkeys(PLACEHOLDER.findall(spec["text"])))
        unknown = [p for p in params if p not in limits]
        if unknown:
            raise ValueError(f"{path}: {code} 的参数 {unknown} 未在 limits 中给出长度上限")
        longest = PLACEHOLDER.sub(lambda m: "字" * limits[m[1]], spec["text"])
        if len(longest) > SMS_MAX:
            raise ValueError(
                f"{path}: {code} 在参数取最长时为 {len(longest)} 字，超过一条短信的 {SMS_MAX} 字"
            )
        templates[str(code)] = SmsTemplate(str(code), str(spec["kind"]), spec["text"], params)
    return limits, templates


LIMITS, SMS_TEMPLATES = _load(Path(__file__).parent / "templates" / "sms.yaml")


def fit(name: str, value: str) -> str:
    """`value` cut to the limit of param `name`, ending in "…" when cut."""
    limit = LIMITS[name]
    return value if len(value) <= limit else value[: limit - 1] + "…"


def choose(kind: str, known: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The first template of `kind` whose params `known` fills, and its params fitted.

    Args:
        kind: the notice kind.
        known: the values at hand, by param name (absent or empty: not known).

    Returns:
        The template code and its params.

    Raises:
        ValueError: no template of that kind can be filled.
    """
    for template in SMS_TEMPLATES.values():
        if template.kind != kind:
            continue
        usable = all(
            known.get(p) and (p not in _UNCUT or len(known[p]) <= LIMITS[p])
            for p in template.params
        )
        if usable:
            return template.code, {p: fit(p, known[p]) for p in template.params}
    raise ValueError(f"没有可用的短信模板：类型 {kind}，已知参数 {sorted(known)}")


def sms_text(code: str, params: Mapping[str, str]) -> str:
    """The text of template `code` filled with `params`, as the phone shows it (without the sign).

    Raises:
        ValueError: an unknown code, or a param the text names is missing.
    """
    template = SMS_TEMPLATES.get(code)
    if template is None:
        raise ValueError(f"未登记的短信模板 {code}")
    missing = [p for p in template.params if p not in params]
    if missing:
        raise ValueError(f"短信模板 {code} 缺少参数 {missing}")
    return PLACEHOLDER.sub(lambda m: params[m[1]], template.text)
