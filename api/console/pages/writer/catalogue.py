"""The catalogue being served, as a policy writer reads it (`/console/writer…`).

The same reads as the rule service's routes (`api.routes.rules`): the policy rows of
`GET /api/policies`, one policy whole as `GET /api/policies/{id}` gives it (parameters with
their dated values and references, conditions, benefit, materials, test cases with ID numbers
masked) and the version of `GET /api/catalogue`. Each handler reads `ctx.catalogue` once, so
a publish in between never mixes two versions on one page.
"""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath
from litestar.response import Template

from api.console.pages.writer.views import (
    amount_summary,
    catalogue_rows,
    in_force_since,
    pretty,
    reference_parts,
    rule_text,
    source_lines,
)
from api.console.web import HtmlRequest, ViewerDep, page, page_needs
from api.deps import CtxDep
from api.problems import found
from matcher.explain.catalogue_data import policy_detail
from rules.clock import today
from store.audit.catalogues import catalogue_status
from store.db import read_session

__all__ = ["catalogue_page", "policy_page"]

WRITER = page_needs("policy_writer")


@get("/console/writer", guards=[WRITER], sync_to_thread=True)
def catalogue_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest) -> Template:
    """Every policy served: name, id, delivery, amount formula, department; the version."""
    catalogue = ctx.catalogue
    with read_session(ctx.engine) as session:
        version = catalogue_status(session=session, catalogue=catalogue)
    rows = catalogue_rows(catalogue, today())
    return page(request, "console/writer/catalogue.html", rows=rows, version=version)


@get("/console/writer/policies/{policy_id:str}", guards=[WRITER], sync_to_thread=True)
def policy_page(
    policy_id: FromPath[str], ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest
) -> Template:
    """One policy: parameters with dated values and references, test cases, its rule text."""
    policy = found(ctx.catalogue.policies.get(policy_id), f"政策 {policy_id[:80]} ")
    on = today()
    return page(
        request, "console/writer/policy.html", policy=policy_detail(policy), on=on,
        in_force=in_force_since(policy, on), amount=amount_summary(policy, on),
        lines=source_lines(text, {}) if (text := rule_text(policy)) is not None else None,
        reference_parts=reference_parts, pretty=pretty,
    )  # fmt: skip
