"""`zhida claims`: list, show, confirm and advance claims (村级代办、乡镇把关、县级审批).

A thin shell over `store.claims` (docs/claims.md): who acts is `--as USER` (with `--role`
when the user holds several); `--on` dates the step (default: today in Asia/Shanghai). Batch
forms take `--all --region PREFIX`: every claim in the region that can take the step, each
in its own transaction, one claim's refusal never stopping the others. Every refusal is one
message naming the claim and why; nothing is changed by it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.base import DEFAULT_ROOT, Root, app, fail, migrated_db, on_date, out, region_prefix

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rules.workflow import Actor, Workflow
    from store.claims.reads import ClaimView

claims_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="申领 claims：查看、确认、受理、审核、审批"
)
app.add_typer(claims_app, name="claims")

KINDS = {"grant": "免申即享", "claim": "申领", "bundle": "一件事"}
MATERIAL = {
    "held": "已有（取自数据）",
    "waived": "容缺（后补）",
    "asked": "需本人提供",
    "exempt": "免于提供（免申即享）",
}
ClaimId = Annotated[int | None, typer.Argument(help="申领编号（批量办理时用 --all 代替）")]
As = Annotated[str, typer.Option("--as", help="办理人用户名（zhida users list）")]
RoleOpt = Annotated[str | None, typer.Option("--role", help="办理人有多个角色时，以哪个角色办理")]
OnOpt = Annotated[str | None, typer.Option("--on", help="办理日期 YYYY-MM-DD（默认今天）")]
AllOpt = Annotated[bool, typer.Option("--all", help="批量：--region 下所有可办理的申领")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="区划代码前缀，如 520602")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="幂等键：重复提交只办理一次")]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]
StateOpt = Annotated[str | None, typer.Option("--state", help="状态，如 prepared、confirmed")]
ToOpt = Annotated[str, typer.Option("--to", help="转到的状态，如 village_accepted")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="理由（退回、不予批准、撤回必填）")]
DeptOpt = Annotated[str | None, typer.Option("--dept", help="部门分项（默认办理人所在部门）")]
PaymentOpt = Annotated[str | None, typer.Option("--payment-ref", help="发放凭证号（转为 paid 时）")]


def _workflow(root: Any) -> Workflow:
    from rules.errors import RuleError
    from rules.workflow import Workflow

    try:
        return Workflow.load(root)
    except RuleError as exc:
        fail(str(exc))


MAX_ID = 2**31 - 1  # claim ids are 32-bit integers in both databases


def _checked(claim_id: int | None, **texts: tuple[str | None, int]) -> None:
    """One clear message for a claim id out of range or an option's text too long."""
    if claim_id is not None and not 1 <= claim_id <= MAX_ID:
        from matcher.profiles.masking import mask_ids_in_text

        said = mask_ids_in_text(str(claim_id))  # an ID number typed here is never echoed whole
        fail(f"申领编号 {said}：应为 1 至 {MAX_ID} 之间的整数（zhida claims list 列出的编号）")
    for option, (text, limit) in texts.items():
        if text is not None and len(text) > limit:
            fail(f"--{option.replace('_', '-')}：长 {len(text)} 个字符，应不超过 {limit} 个")


def _actor(engine: Engine, name: str, role: str | None) -> Actor:
    from store.db import read_session
    from store.users import UserError, actor_of

    try:
        with read_session(engine) as session:
            return actor_of(session=session, name=name, role=role)
    except UserError as exc:
        fail(f"--as {name}：{exc}")


@claims_app.command("list")
def list_command(
    state: StateOpt = None,
    region: RegionOpt = None,
    dept: Annotated[str | None, typer.Option("--dept", help="含此部门分项的申领")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="grant | claim | bundle")] = None,
    as_json: JsonOpt = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """列出申领 list：按状态、辖区、部门筛选。"""
    from rich.table import Table

    from store.claims.reads import list_claims
    from store.db import read_session

    wf = _workflow(root)
    if state is not None and state not in wf.spec.states:
        fail(f"--state {state!r}：未知状态；应为 {' | '.join(wf.spec.states)}")
    if kind is not None and kind not in KINDS:
        fail(f"--kind {kind!r}：应为 grant | claim | bundle")
    engine = migrated_db()
    try:
        with read_session(engine) as session:
            rows = list_claims(
                session, state=state, region=region_prefix(region), department=dept, kind=kind
            )
    finally:
        engine.dispose()
    if as_json:
        out.print_json(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
        return
    if not rows:
        out.print("没有符合条件的申领", highlight=False)
        return
    table = Table("编号", "类型", "申领人", "村（社区）", "事项", "状态", "部门分项")
    for r in rows:
        parts = "；".join(f"{p.department}：{wf.state_label(p.state)}" for p in r.parts)
        table.add_row(str(r.id), KINDS.get(r.kind, r.kind), r.subject_key, r.region, r.title,
                      wf.state_label(r.overall), parts)  # fmt: skip
    out.print(table)
    out.print(f"共 {len(rows):,} 件", highlight=False)


def _print_claim(view: ClaimView, wf: Workflow) -> None:
    form = view.form.get("subject", {})
    out.print(f"申领 {view.id} · {KINDS.get(view.kind, view.kind)} · {view.title}", highlight=False)
    out.print(f"状态：{wf.state_label(view.overall)}（第 {view.version} 版）· 符合自 "
              f"{view.eligible_on} · 申领人 {view.subject_key} {form.get('name') or ''} · "
              f"村（社区）{view.region}", highlight=False)  # fmt: skip
    for m in view.form.get("members", []):
        out.print(f"  成员 {m.get('name') or ''} {m['id_number']} {m['relation']}", highlight=False)
    out.print("部门分项：", highlight=False)
    for p in view.parts:
        out.print(f"  [{p.id}] {p.department}：{wf.state_label(p.state)}"
                  + (f" · 发放 {p.paid_on} {p.payment_ref or ''}" if p.paid_on else "")
                  + (f" · 自 {p.ends_on} 停止：{p.end_reason}" if p.ends_on else ""),
                  highlight=False)  # fmt: skip
        for s in p.sections:
            amount = f"{s['amount']} {s.get('unit') or ''}/{s.get('period') or ''}" if s.get(
                "amount") else ""  # fmt: skip
            out.print(f"      {s['title']} {amount}", highlight=False)
    out.print("材料（一次性告知）：", highlight=False)
    for m in view.materials:
        where = MATERIAL.get(m["status"], m["status"])
        held = f"：{m.get('label')} {m.get('value')}" if m["status"] == "held" else ""
        out.print(f"  {m['name']} — {where}{held}（{'、'.join(m['departments'])}）",
                  highlight=False)  # fmt: skip
    out.print("办理记录：", highlight=False)
    for s in view.steps:
        who = s["person"] or s["actor"]
        extra = "（代本户）" if s["on_behalf"] else ""
        part = f"[{s['part']}] " if s["part"] else ""
        reason = f" · 理由：{s['reason']}" if s["reason"] else ""
        moved = f"{wf.state_label(s['from'])} → {wf.state_label(s['to'])}"
        out.print(f"  {s['on_date']} {part}{wf.action_label(s['action'])}：{moved} · {who}"
                  f"（{s['role']} {s['region']}）{extra}{reason}", highlight=False)  # fmt: skip
    for d in view.deadlines:
        part = f"[{d['part']}] " if d["part"] else ""
        step = wf.state_label(d["state"])
        out.print(f"  承诺时限：{part}「{step}」的下一步应于 {d['due_on']} 前办结", highlight=False)


@claims_app.command("show")
def show_command(claim_id: Annotated[int, typer.Argument(help="申领编号")],
                 as_json: JsonOpt = False, root: Root = DEFAULT_ROOT) -> None:  # fmt: skip
    """查看申领 show：表单、材料及来源、部门分项、办理记录、承诺时限。"""
    from store.claims.reads import show_claim
    from store.db import read_session

    _checked(claim_id)
    wf = _workflow(root)
    engine = migrated_db()
    try:
        with read_session(engine) as session:
            view = show_claim(session, claim_id)
    finally:
        engine.dispose()
    if view is None:
        fail(f"申领 {claim_id} 不存在；应为 zhida claims list 列出的编号")
    if as_json:
        out.print_json(json.dumps(view.as_json(), ensure_ascii=False))
        return
    _print_claim(view, wf)


def _targets(engine: Engine, claim_id: int | None, every: bool, region: str | None,
             to_state: str, wf: Workflow) -> list[tuple[int, int | None]]:  # fmt: skip
    """The claims to act on: one, or every claim in the region that can reach `to_state`."""
    from store.claims.reads import list_claims
    from store.claims.steps import CLAIM_LEVEL
    from store.db import read_session

    if every == (claim_id is not None):
        fail("应给出一个申领编号，或 --all --region 前缀（批量），二者选一")
    if claim_id is not None:
        return [(claim_id, None)]
    if region is None:
        fail("--all 须同时给出 --region（区划代码前缀），批量只在一个辖区内办理")
    with read_session(engine) as session:
        rows = list_claims(session, region=region_prefix(region))
    out_: list[tuple[int, int | None]] = []
    for r in rows:
        scope = "claim" if r.state in CLAIM_LEVEL else "part"
        states = {r.state} if scope == "claim" else {p.state for p in r.parts}
        if any(t.to == to_state for s in states for t in wf.next_actions(s, scope)):
            out_.append((r.id, r.version if scope == "claim" else None))
    return out_


def _act(claim_id: int | None, to_state: str, user: str, role: str | None, reason: str | None,
         dept: str | None, key: str | None, on: str | None, every: bool, region: str | None,
         root: Any, payment_ref: str | None = None) -> None:  # fmt: skip
    from store.claims.errors import ClaimError
    from store.claims.steps import StepDone, StepRequest, advance_many

    _checked(claim_id, key=(key, 255), reason=(reason, 500), payment_ref=(payment_ref, 120))
    wf = _workflow(root)
    if to_state not in wf.spec.states:
        fail(f"--to {to_state!r}：未知状态；应为 {' | '.join(wf.spec.states)}")
    day = on_date(on, future=False)
    engine = migrated_db()
    try:
        actor = _actor(engine, user, role)
        targets = _targets(engine, claim_id, every, region, to_state, wf)
        if every and key is not None:
            fail("--key 只用于单件办理；批量办理时每件按其编号与步骤幂等")
        requests = [
            StepRequest(
                claim_id=cid,
                actor=actor,
                person=user,
                on=day,
                to_state=to_state,
                department=dept,
                reason=reason,
                key=key,
                version=version,
                payment_ref=payment_ref,
            )  # fmt: skip
            for cid, version in targets
        ]
        results = advance_many(engine, requests, root=root)
    finally:
        engine.dispose()
    done = [r for r in results if isinstance(r, StepDone)]
    refused = [r for r in results if isinstance(r, ClaimError)]
    for r in done:
        again = "（重复提交，按首次结果）" if r.replayed else ""
        out.print(f"申领 {r.claim_id}：{wf.action_label(r.action)} → {wf.state_label(r.to_state)}"
                  f"{again}", highlight=False)  # fmt: skip
    if not every:
        if refused:
            fail(str(refused[0]))
        return
    said = f"{len(done):,} 件已办理，{len(refused):,} 件未办理（共 {len(results):,} 件）"
    out.print(f"批量办理：{said}", highlight=False)
    for e in refused[:20]:
        out.print(f"  {e}", highlight=False)


@claims_app.command("confirm")
def confirm_command(
    claim_id: ClaimId = None,
    user: As = "",
    role: RoleOpt = None,
    key: KeyOpt = None,
    on: OnOpt = None,
    every: AllOpt = False,
    region: RegionOpt = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """确认申领 confirm：申领人本人，或村代办员代本户确认（一次确认即提交）。"""
    if not user:
        fail("--as：应给出办理人用户名（zhida users list）")
    _act(claim_id, "confirmed", user, role, None, None, key, on, every, region, root)


@claims_app.command("advance")
def advance_command(
    claim_id: ClaimId = None,
    to: ToOpt = "",
    user: As = "",
    role: RoleOpt = None,
    reason: ReasonOpt = None,
    dept: DeptOpt = None,
    payment_ref: PaymentOpt = None,
    key: KeyOpt = None,
    on: OnOpt = None,
    every: AllOpt = False,
    region: RegionOpt = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """办理 advance：受理、审核、审批、发放、退回、不予批准、撤回（按流程表与职责分离）。"""
    if not to:
        fail("--to：应给出要转到的状态，如 village_accepted")
    if not user:
        fail("--as：应给出办理人用户名（zhida users list）")
    _act(claim_id, to, user, role, reason, dept, key, on, every, region, root, payment_ref)
