"""`/console/department/files`: a department's payment batch out, and the filled sheet back in.

The sheet is `store.claims.export.export_batch`'s, as `GET /api/claims/export` writes it for a
department user: its own department, its county, the parts approved and the 免申即享 grants
waiting for payment — with full ID numbers by design (the department's payment system must
pay the right person), and the export audited. The page itself shows no ID number: only how
many parts wait, by policy.

The filled sheet comes back as `POST /api/claims/payments` takes it: `read_payments`, then
each good row recorded as the `pay` step (`record_payments`, idempotent per part: a file sent
twice records nothing twice). Every row's result is listed: recorded, recorded before, or the
problem by row and column.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from litestar import Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.auth import Caller
from api.console.web import HtmlRequest, ViewerDep, page, page_needs
from api.context import Ctx
from api.deps import CtxDep
from api.problems import ProblemError
from api.routes.claims.files import PaymentUpload, export_response, record_upload
from store.claims.export import export_rows
from store.db import read_session

__all__ = ["export_file", "files_page", "payments_form"]

MAX_UPLOAD = 20 * 1024 * 1024  # a department's sheet is a few hundred rows


def _department(viewer: Caller) -> tuple[str, str]:
    return viewer.department or "", viewer.region[:6]


@get("/console/department/files", guards=[page_needs("department")], sync_to_thread=True)
def files_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest) -> Template:
    """What waits for payment (counts by policy), the download, and the upload form."""
    department, county = _department(viewer)
    with read_session(ctx.engine) as session:
        rows = export_rows(session, department=department, county=county)
    by_policy = Counter((r.kind, r.title) for r in rows)
    return page(request, "console/review/files.html", department=department,
                rows=len(rows), parts=len({r.part_id for r in rows}),
                by_policy=sorted(by_policy.items()))  # fmt: skip


@get("/console/department/files/export", guards=[page_needs("department")], sync_to_thread=True)
def export_file(ctx: CtxDep, viewer: ViewerDep) -> Response[bytes]:
    """The department's sheet (.xlsx, full IDs by design), audited as the API's export."""
    department, county = _department(viewer)
    return export_response(ctx, who=viewer.name, department=department, county=county)


def _record(ctx: Ctx, viewer: Caller, name: str, content: bytes) -> list[dict[str, Any]]:
    """Each row's result, by row: recorded, already recorded, or its problem."""
    done, problems = record_upload(ctx, viewer, name, content)
    out = [{"row": r.row, "claim": r.claim_id, "result": "已登记发放", "ok": True,
            "said": f"{r.paid_on} · 凭证号 {r.payment_ref}"} for r in done.recorded]  # fmt: skip
    out += [{"row": r.row, "claim": r.claim_id, "result": "此前已登记", "ok": True,
             "said": f"{r.paid_on} · 凭证号 {r.payment_ref}"} for r in done.already]  # fmt: skip
    out += [{"row": p.row, "claim": p.claim_id, "result": "未登记", "ok": False, "said": str(p)}
            for p in problems]  # fmt: skip
    return sorted(out, key=lambda r: (r["row"] or 0, not r["ok"]))


@post("/console/department/files/payments", guards=[page_needs("department")],
      sync_to_thread=True, status_code=200)  # fmt: skip
def payments_form(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest,
    data: Annotated[PaymentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:  # fmt: skip
    """Record the sheet's payments; every row's result (a file unread: the problem)."""
    content = data.file.file.read(MAX_UPLOAD + 1)
    name = data.file.filename or "upload"
    if len(content) > MAX_UPLOAD:
        raise ProblemError(413, f"{name}：文件超过 {MAX_UPLOAD // 1024 // 1024} MB")
    results = _record(ctx, viewer, name, content)
    return page(request, "console/review/payments_result.html", results=results, name=name,
                recorded=sum(r["result"] == "已登记发放" for r in results),
                already=sum(r["result"] == "此前已登记" for r in results),
                refused=sum(not r["ok"] for r in results))  # fmt: skip
