"""The rule service over HTTP: `POST /api/match` and the catalogue's reads.

Open without a token by default (`ZHIDA_RULES_PUBLIC=1`, `api.auth.RULE_PATHS`): they read
the served catalogue and no stored data. `POST /api/match` takes `{"profile": {...}, "on":
"2025-03-01"}` — the profile is the JSON `zhida match FILE` reads — and answers what
`zhida match --explain` prints, as data (`matcher.explain.profile_match`); a bad profile is a
422 whose `errors` name the JSON path under `profile` (`profile.members[2].id_number`).
Each handler reads `ctx.catalogue` once, so a publish in between never mixes two versions.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post
from litestar.params import FromPath, JSONBody

from api.deps import CtxDep
from api.params import Limit, Offset, Page, page_of
from api.problems import PROBLEMS, found
from api.routes.rules.schemas import (
    CatalogueOut,
    FactOut,
    MatchIn,
    MatchOut,
    PolicyDetailOut,
    PolicyOut,
)
from matcher.explain.catalogue_data import fact_rows, policy_detail, policy_rows
from matcher.explain.profile_match import match_profile
from rules.clock import today
from store.audit.catalogues import catalogue_status
from store.db import read_session

__all__ = ["catalogue", "facts", "match_route", "policies", "policy"]

TAGS = ["规则服务"]


def _as(data: Any, shape: type[Any]) -> Any:
    return msgspec.convert(data, shape, strict=False)


@post("/api/match", tags=TAGS, summary="匹配一户或一家企业的档案，逐条说明", status_code=200,
      sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def match_route(data: JSONBody[MatchIn], ctx: CtxDep) -> MatchOut:
    """Per policy: status, amount (to the fen), each condition with the value seen and its
    threshold, missing facts; the bundles; 一次性告知 (which fact, of whom)."""
    answer = match_profile(ctx.catalogue, data.profile, data.on or today(), at="profile")
    return _as(answer, MatchOut)  # type: ignore[no-any-return]


@get("/api/policies", tags=TAGS, summary="政策目录：每项政策", sync_to_thread=False,
     responses=PROBLEMS)  # fmt: skip
def policies(ctx: CtxDep, limit: Limit = 500, offset: Offset = 0) -> Page[PolicyOut]:
    """The policies of the served catalogue, by id (a page; by default all, up to 500)."""
    rows: list[PolicyOut] = _as(policy_rows(ctx.catalogue), list[PolicyOut])
    return page_of(rows, limit, offset)


@get("/api/policies/{policy_id:str}", tags=TAGS, summary="一项政策：参数及其取值与依据、条件、用例",
     sync_to_thread=False, responses=PROBLEMS)  # fmt: skip
def policy(policy_id: FromPath[str], ctx: CtxDep) -> PolicyDetailOut:
    """One policy: parameters with dated values and references, conditions, benefit,
    materials, test cases (ID numbers masked), basis."""
    found_policy = found(ctx.catalogue.policies.get(policy_id), f"政策 {policy_id[:80]} ")
    return _as(policy_detail(found_policy), PolicyDetailOut)  # type: ignore[no-any-return]


@get("/api/facts", tags=TAGS, summary="事实目录", sync_to_thread=False, responses=PROBLEMS)
def facts(ctx: CtxDep, limit: Limit = 500, offset: Offset = 0) -> Page[FactOut]:
    """The facts a policy may name (facts.yaml; a page; by default all, up to 500)."""
    rows: list[FactOut] = _as(fact_rows(ctx.catalogue), list[FactOut])
    return page_of(rows, limit, offset)


@get("/api/catalogue", tags=TAGS, summary="当前政策目录的版本（内容哈希）与是否已发布",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def catalogue(ctx: CtxDep) -> CatalogueOut:
    """The served catalogue's content hash, its size, and when and by whom it was published."""
    with read_session(ctx.engine) as session:
        return _as(catalogue_status(session=session, catalogue=ctx.catalogue), CatalogueOut)  # type: ignore[no-any-return]
