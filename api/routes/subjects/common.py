"""What the household and the enterprise routes share: each handler of theirs names its path
parameter (户编号 or credit code) and calls one of these with the subject's kind."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.auth import Caller
from api.context import Ctx
from api.params import Page, day_or_today, page_of
from api.problems import found
from api.routes.subjects.schemas import (
    EntitlementOut,
    HistoryOut,
    OutcomeOut,
    PatchBody,
    entitlements_out,
    history_out,
    outcome_out,
)
from store.db import read_session
from store.subjects import patch_subject, put_subject, subject_entitlements, subject_history
from store.subjects.writes import EventArgs

__all__ = ["entitlements_of", "events", "history_of", "patched", "stored"]

_NAMES = {"household": "户", "enterprise": "企业"}


def events(ctx: Ctx, caller: Caller, source: str) -> EventArgs:
    """What a write by `caller` hands to the event path."""
    return EventArgs(ctx.catalogue, ctx.root, ctx.reactions, caller.name, f"API {source}"[:300])


def _what(kind: str, key: str) -> str:
    return f"{_NAMES[kind]} {key}"


def stored(ctx: Ctx, caller: Caller, kind: str, key: str, raw: Any, on: date | None) -> OutcomeOut:
    """`PUT`: the whole profile through the event path; 404 outside the caller's scope."""
    done = put_subject(ctx.engine, scope=caller.scope, kind=kind, key=key, raw=raw,
                       on=day_or_today(on), events=events(ctx, caller, f"PUT {key}"))  # fmt: skip
    return outcome_out(found(done, _what(kind, key)))


def patched(ctx: Ctx, caller: Caller, kind: str, key: str, data: PatchBody) -> OutcomeOut:
    """`PATCH`: some facts through the event path; 404 outside the caller's scope."""
    done = patch_subject(ctx.engine, scope=caller.scope, kind=kind, key=key, values=data.facts,
                         member=data.member, on=day_or_today(data.on, body=True),
                         events=events(ctx, caller, f"PATCH {key}"))  # fmt: skip
    return outcome_out(found(done, _what(kind, key)))


def entitlements_of(
    ctx: Ctx, caller: Caller, kind: str, key: str, on: date | None, limit: int, offset: int
) -> Page[EntitlementOut]:
    """What the subject is entitled to on `on` (default today); 404 outside the scope."""
    with read_session(ctx.engine) as s:
        held = subject_entitlements(session=s, scope=caller.scope, kind=kind, key=key,
                                    on=day_or_today(on))  # fmt: skip
    return page_of(entitlements_out(found(held, _what(kind, key)), ctx.catalogue), limit, offset)


def history_of(
    ctx: Ctx, caller: Caller, kind: str, key: str, limit: int, offset: int
) -> Page[HistoryOut]:
    """Every entitlement interval of the subject ("entitled on date D"); 404 outside the scope."""
    with read_session(ctx.engine) as s:
        items = subject_history(session=s, scope=caller.scope, kind=kind, key=key)
    return page_of(history_out(found(items, _what(kind, key)), ctx.catalogue), limit, offset)
