"""A department's payment batch over HTTP: the sheet out, the filled sheet back in.

`GET /api/claims/export?department=` is the one answer of the claims area with full ID numbers
(by design: the department's payment system must pay the right person; the path contains
`/export`), audited like `zhida claims export`. A department user exports its own department
(another department: 403); a county user names the department. `POST /api/claims/payments`
takes the filled sheet (multipart field `file`, .xlsx or .csv) from a department user and
records each good row as the `pay` step (`store.claims.payments`); rows refused are listed by
row and column, a file that cannot be read at all is a 422.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import MultipartBody, Parameter

from api.auth import Caller, needs
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.idempotency import IdempotencyHeader, idempotent
from api.problems import PROBLEMS, Problem, ProblemError
from api.routes.claims.common import TAGS, plain_text
from api.routes.claims.schemas import PaymentProblemOut, PaymentsOut
from store.claims.export import export_batch
from store.claims.payments import PaymentProblem, PaymentsDone, read_payments, record_payments

__all__ = ["PaymentUpload", "export_response", "export_route", "payments_route", "record_upload"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET = {200: ResponseSpec(data_container=bytes, media_type=XLSX, description="发放清单 xlsx")}


def _department(caller: Caller, department: str | None) -> str:
    plain_text("query.department", department)
    if caller.role == "department":
        if department not in (None, caller.department):
            said = f"{department!r}：只能导出本部门（{caller.department}）的发放清单"
            raise ProblemError(403, f"department：{said}", [Problem("query.department", said)])
        return caller.department or ""
    if not department:
        said = "县级管理员导出时应给出部门名称，如 县医疗保障局"
        raise ProblemError(422, f"department：{said}", [Problem("query.department", said)])
    return department


@get("/api/claims/export", tags=TAGS, summary="导出本部门发放清单（xlsx，含完整身份证号）",
     sync_to_thread=True, responses={**PROBLEMS, **_SHEET},
     guards=[needs("department", "county")])  # fmt: skip
def export_route(
    ctx: CtxDep,
    caller: CallerDep,
    department: Annotated[
        str | None, Parameter(max_length=120, description="部门名称（部门用户默认本部门）")
    ] = None,
) -> Response[bytes]:
    """The department's approved parts and 免申即享 grants waiting for payment, one row per
    policy, with the full ID numbers its payment system needs; the export is audited."""
    dept = _department(caller, department)
    return export_response(ctx, who=caller.name, department=dept, county=caller.region[:6])


def export_response(ctx: Ctx, *, who: str, department: str, county: str) -> Response[bytes]:
    """The department's sheet of `county` written by `export_batch` (audited as `who`'s
    export), as a download named 「{department}-发放清单.xlsx」 (the API's and the console's)."""
    with tempfile.TemporaryDirectory(prefix="zhida-export-") as folder:
        path = Path(folder) / "export.xlsx"
        export_batch(ctx.engine, who=who, department=department, county=county, path=path)
        content = path.read_bytes()
    name = quote(f"{department}-发放清单.xlsx")
    disposition = f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{name}"
    return Response(content=content, media_type=XLSX,
                    headers={"Content-Disposition": disposition})  # fmt: skip


@dataclass
class PaymentUpload:
    """The filled payment sheet (multipart field `file`: .xlsx or .csv)."""

    file: UploadFile


def _problem(p: PaymentProblem) -> PaymentProblemOut:
    return PaymentProblemOut(row=p.row, column=p.column, message=str(p), claim_id=p.claim_id)


def record_upload(
    ctx: Ctx, caller: Caller, name: str, content: bytes
) -> tuple[PaymentsDone, list[PaymentProblem]]:
    """Read the uploaded payment sheet `name` and record its rows as `caller`: what
    `record_payments` did, and every problem (the sheet's and the rows'), by row. A sheet that
    cannot be read at all is a 422 naming the file's row."""
    suffix = Path(name).suffix.lower()[:8]
    with tempfile.TemporaryDirectory(prefix="zhida-payments-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        rows, problems = read_payments(path)
    if not rows and problems and problems[0].row in (None, 1):
        errors = [Problem(f"file 第 {p.row or 1} 行", str(p)) for p in problems]
        raise ProblemError(422, f"{name}：{problems[0]}", errors)
    done = record_payments(ctx.engine, rows, caller.actor, caller.name, ctx.root)
    return done, sorted([*problems, *done.problems], key=lambda p: p.row or 0)


def _record(ctx: Ctx, caller: Caller, name: str, content: bytes) -> PaymentsOut:
    done, found = record_upload(ctx, caller, name, content)
    return PaymentsOut(recorded=len(done.recorded), already=len(done.already),
                       problems=[_problem(p) for p in found])  # fmt: skip


@post("/api/claims/payments", tags=TAGS, summary="登记发放：上传填好发放日期与凭证号的清单",
      sync_to_thread=True, responses=PROBLEMS, status_code=200,
      guards=[needs("department")])  # fmt: skip
def payments_route(
    ctx: CtxDep,
    caller: CallerDep,
    request: Request[Any, Any, Any],
    data: MultipartBody[PaymentUpload],
    idempotency_key: IdempotencyHeader = None,
) -> Response[PaymentsOut]:
    """Each good row recorded as paid (idempotent per part: a replayed file changes nothing);
    each refused row named by row and column."""
    content = data.file.file.read()
    name = data.file.filename or "upload"
    fingerprint = {"file": hashlib.sha256(content).hexdigest(), "name": name}
    return idempotent(request, caller, ctx, idempotency_key, "claims.payments", fingerprint,
                      lambda: _record(ctx, caller, name, content))  # fmt: skip
