"""Claims opened and ended by entitlement changes, in the transaction that writes the changes.

Called by `store.sweep.writes.write_plan`, so the nightly sweep and the live event path open
the same claims for the same changes (and roll back with them). For each change:

- **newly eligible**, the policy's `delivery`:
  - a member of a bundle whose gate holds for the subject (低保一件事 for a 低保 household):
    its section joins the subject's **bundle claim** — the one still `prepared`, else a new
    one: one form, a part per department, materials merged (`store.claims.forms`);
  - `auto` (免申即享): a **grant**, `granted` by the system at once (no one acts); it gets no
    deadline row: it is paid in the department's regular payment batch, and a nightly sweep
    must never fail because a deadline's year has no holiday schedule yet;
  - `confirm`: a **prepared claim** (one part), waiting for one confirmation;
  - `notify`: no claim, the notice only.
- **no longer eligible**: every part holding the policy ends. A part not yet approved is
  `withdrawn` by the system with the reason (what is no longer met), its open deadlines closed;
  a part granted, approved
  or paid keeps its state and gets `ends_on` (payments stop from the change's
  `effective_on`, e.g. the first of next month, else its date); a claim all of whose parts
  are withdrawn is withdrawn. Each department concerned is told (an office notice).

Every claim opened, granted, withdrawn or ended is an audit record (a grant's one record,
`claim.grant`, says it was opened and granted), and every step of it a `claim_step` (by
`system`). `origin` (`policy:…:change{id}`, `bundle:…:change{id}`) is unique: the same change
can never open two claims.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session

from store.audit.log import AuditEntry, append_many, inputs_hash
from store.bulk import execute_many
from store.claims.forms import Subject, form_of, materials_of, subjects
from store.claims.notices import department_office, queue_office_notices
from store.claims.specs import ClaimSpecs, PolicySpec
from store.claims.steps import close_deadlines
from store.sweep.diff import Change, Key
from store.tables.claims import Claim, ClaimPart, ClaimStep
from store.tables.types import utcnow

__all__ = ["ClaimContext", "OPEN_STATES", "open_and_end"]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_STEP: Table = ClaimStep.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_CLAIM_COLUMNS = ("kind", "subject_kind", "subject_id", "subject_key", "region", "bundle_id",
                  "title", "state", "version", "entered_on", "eligible_on", "origin", "form",
                  "materials", "catalogue_version_id", "created_at", "updated_at")  # fmt: skip
_PART_COLUMNS = ("claim_id", "department", "state", "version", "entered_on", "sections",
                 "updated_at")  # fmt: skip
# States a part is withdrawn from when its entitlement ends; from the others it keeps paying
# until `ends_on`, or is over already.
OPEN_STATES = ("prepared", "confirmed", "village_accepted", "township_checked", "returned")
_KEEPS = ("granted", "county_approved", "paid")
SYSTEM = "system"


@dataclass(frozen=True)
class ClaimContext:
    """What the claims of one write share (the sweep's chunk context, in claim terms)."""

    kind: str
    on_date: date
    version_id: int
    catalogue_hash: str
    actor: str
    specs: ClaimSpecs
    gates: Mapping[int, frozenset[str]] = field(default_factory=dict)  # subject → open bundles
    effective_on: Mapping[Key, date] = field(default_factory=dict)
    reasons: Mapping[Key, str] = field(default_factory=dict)  # why an entitlement ended


def _section(spec: PolicySpec, ch: Change, change_id: int, on: date) -> dict[str, Any]:
    d = ch.decision
    return {"policy_id": spec.id, "title": spec.title, "department": spec.department,
            "delivery": spec.delivery, "amount": None if d.amount is None else str(d.amount),
            "unit": spec.unit, "period": spec.period, "from": on.isoformat(),
            "change_id": change_id}  # fmt: skip


class _Writer:
    def __init__(self, session: Session, ctx: ClaimContext) -> None:
        self.session, self.ctx = session, ctx
        self.audit: list[AuditEntry] = []
        self.steps: list[dict[str, Any]] = []
        self.office: list[dict[str, Any]] = []
        self.notes: dict[Key, dict[str, Any]] = {}

    def step(self, claim: int, part: int | None, action: str, frm: str, to: str,
             reason: str | None = None) -> None:  # fmt: skip
        self.steps.append({
            "claim_id": claim, "part_id": part, "action": action, "from_state": frm,
            "to_state": to, "actor": SYSTEM, "person": None, "role": SYSTEM, "region": "",
            "department": None, "on_behalf": False, "reason": reason, "on_date": self.ctx.on_date,
            "idempotency_key": None, "at": utcnow(),
        })  # fmt: skip

    def record(self, claim: int, action: str, details: Mapping[str, Any], inputs: str) -> None:
        self.audit.append(AuditEntry(
            actor=self.ctx.actor, action=f"claim.{action}", subject=f"claim:{claim}",
            catalogue_hash=self.ctx.catalogue_hash, inputs_hash=inputs,
            details={"role": SYSTEM, **details},
        ))  # fmt: skip

    def flush(self) -> None:
        if self.steps:
            self.session.connection().execute(_STEP.insert(), self.steps)
        queue_office_notices(self.session, self.office)
        append_many(session=self.session, entries=self.audit)


@dataclass
class _Fresh:
    """A claim to insert: its row, its parts' sections by department, what its notes say."""

    row: dict[str, Any]
    parts: dict[str, list[dict[str, Any]]]
    policies: list[str]
    keys: list[Key]
    inputs: str


def _fresh(
    w: _Writer, subject_id: int, subject: Subject, bundle: str | None,
    items: list[tuple[PolicySpec, Change, int]],
) -> _Fresh:  # fmt: skip
    """A new claim for `items`: a bundle claim, else a grant or a prepared claim of one policy."""
    ctx, specs, kind = w.ctx, w.ctx.specs, w.ctx.kind
    policies = [p for p, _, _ in items]
    sections = [_section(p, ch, cid, ctx.on_date) for p, ch, cid in items]
    if bundle is not None:
        claim_kind, title = "bundle", specs.bundles[bundle].title
        origin = f"bundle:{bundle}:{kind}:{subject_id}:change{items[0][2]}"
    else:
        p = policies[0]
        claim_kind = "grant" if p.delivery == "auto" else "claim"
        title, origin = p.title, f"policy:{p.id}:{kind}:{subject_id}:change{items[0][2]}"
    now = utcnow()
    row = {
        "kind": claim_kind, "subject_kind": kind, "subject_id": subject_id,
        "subject_key": subject["key"], "region": subject["region"], "bundle_id": bundle,
        "title": title[:300], "state": "granted" if claim_kind == "grant" else "prepared",
        "version": 1, "entered_on": ctx.on_date, "eligible_on": ctx.on_date, "origin": origin,
        "form": form_of(specs, kind, subject, sections),
        "materials": materials_of(specs, policies, subject, grant=claim_kind == "grant"),
        "catalogue_version_id": ctx.version_id, "created_at": now, "updated_at": now,
    }  # fmt: skip
    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for section in sections:
        parts[section["department"]].append(section)
    inputs = inputs_hash({"form": row["form"], "sections": sections})
    keys = [ch.decision.key for _, ch, _ in items]
    return _Fresh(row, parts, [p.id for p in policies], keys, inputs)


def _insert(w: _Writer, fresh: list[_Fresh]) -> None:
    """Insert the new claims, their parts, the grants' steps and the audit records, in bulk."""
    if not fresh:
        return
    # A chunk opens thousands: sqlite3's executemany or COPY (`store.bulk`), then the ids read
    # back by origin (unique), rather than INSERT … RETURNING's per-row parameter handling.
    session, c = w.session, _CLAIM.c
    rows = [tuple(f.row[k] for k in _CLAIM_COLUMNS) for f in fresh]
    execute_many(session=session, stmt=insert(_CLAIM), columns=_CLAIM_COLUMNS, rows=rows)
    held = [f.row["subject_id"] for f in fresh]
    found = session.connection().execute(
        core_select(c.id, c.origin).where(
            c.subject_kind == w.ctx.kind, c.subject_id >= min(held),
            c.subject_id <= max(held), c.catalogue_version_id == w.ctx.version_id,
        )
    )  # fmt: skip
    by_origin = {r.origin: r.id for r in found}
    ids = [by_origin[f.row["origin"]] for f in fresh]
    parts: list[tuple[Any, ...]] = []
    for claim_id, f in zip(ids, fresh, strict=True):
        row = f.row
        parts += [
            (claim_id, dept, row["state"], 1, row["entered_on"], secs, row["updated_at"])
            for dept, secs in f.parts.items()
        ]
        opened = {"kind": row["kind"], "origin": row["origin"], "policies": f.policies}
        if row["kind"] == "grant":  # opened and granted at once: one record says both
            w.step(claim_id, None, "grant", "prepared", "granted")
            w.record(claim_id, "grant", {**opened, "from": "prepared", "to": "granted"}, f.inputs)
        else:
            w.record(claim_id, "open", {**opened, "state": "prepared"}, f.inputs)
        note = _note({**row, "id": claim_id})
        for key in f.keys:
            w.notes[key] = note
    execute_many(session=session, stmt=insert(_PART), columns=_PART_COLUMNS, rows=parts)


def _join_bundle(
    w: _Writer, claim: Any, subject: Subject, items: list[tuple[PolicySpec, Change, int]]
) -> bool:
    """Add sections to a bundle claim still `prepared` (its form and materials grow), by
    compare-and-set on the claim's version and each touched part's; False (nothing written)
    when the claim moved meanwhile or a department's part is no longer `prepared` (withdrawn
    while the claim waited): the items then open a bundle claim of their own."""
    ctx, specs = w.ctx, w.ctx.specs
    conn, c, pc = w.session.connection(), _CLAIM.c, _PART.c
    parts = {
        p.department: p for p in conn.execute(core_select(_PART).where(pc.claim_id == claim.id))
    }
    if any(p.department in parts and parts[p.department].state != "prepared" for p, _, _ in items):
        return False
    form_sections = [s for part in parts.values() for s in part.sections]
    added: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p, ch, cid in items:
        part = parts.get(p.department)
        if part is None or all(s["policy_id"] != p.id for s in part.sections):
            added[p.department].append(_section(p, ch, cid, ctx.on_date))
    every = form_sections + [s for secs in added.values() for s in secs]
    policies = [specs.policies[s["policy_id"]] for s in every if s["policy_id"] in specs.policies]
    form, materials = (
        form_of(specs, claim.subject_kind, subject, every),
        materials_of(specs, policies, subject),
    )
    moved = conn.execute(
        update(_CLAIM).where(c.id == claim.id, c.state == "prepared", c.version == claim.version)
        .values(form=form, materials=materials, version=claim.version + 1, updated_at=utcnow())
    )  # fmt: skip
    if moved.rowcount != 1:
        return False
    for dept, secs in added.items():
        part = parts.get(dept)
        if part is None:
            conn.execute(insert(_PART), {
                "claim_id": claim.id, "department": dept, "state": "prepared", "version": 1,
                "entered_on": ctx.on_date, "sections": secs, "updated_at": utcnow(),
            })  # fmt: skip
            continue
        conn.execute(
            update(_PART).where(pc.id == part.id, pc.version == part.version)
            .values(sections=[*part.sections, *secs], version=part.version + 1,
                    updated_at=utcnow())
        )  # fmt: skip
    w.record(claim.id, "join", {"policies": [p.id for p, _, _ in items]},
             inputs_hash({"form": form, "sections": every}))  # fmt: skip
    note = _note({"id": claim.id, "kind": claim.kind, "state": claim.state,
                  "title": claim.title, "materials": materials})  # fmt: skip
    for _, ch, _ in items:
        w.notes[ch.decision.key] = note
    return True


def _note(claim: Mapping[str, Any]) -> dict[str, Any]:
    by = defaultdict(list)
    for m in claim["materials"]:
        by[m["status"]].append(m["name"])
    return {"id": claim["id"], "kind": claim["kind"], "state": claim["state"],
            "title": claim["title"], "asked": by["asked"], "waived": by["waived"],
            "held": by["held"]}  # fmt: skip


def _waiting(w: _Writer, subject_ids: Sequence[int]) -> dict[tuple[int, str], Any]:
    """Each subject's latest bundle claim still `prepared`, by (subject, bundle): one query."""
    c, out = _CLAIM.c, {}
    query = core_select(c.id, c.subject_id, c.subject_kind, c.bundle_id, c.kind, c.state,
                        c.title, c.version).where(
        c.subject_kind == w.ctx.kind, c.subject_id.in_(sorted(set(subject_ids))),
        c.bundle_id.is_not(None), c.state == "prepared",
    ).order_by(c.id)  # fmt: skip
    for r in w.session.connection().execute(query):
        out[(r.subject_id, r.bundle_id)] = r  # the last (newest) wins
    return out


def _open_all(w: _Writer, changes: Sequence[Change], change_ids: Mapping[Key, int]) -> None:
    ctx, specs = w.ctx, w.ctx.specs
    wanted = [
        ch for ch in changes
        if ch.kind == "newly_eligible" and ch.decision.policy_id in specs.policies
        and specs.policies[ch.decision.policy_id].delivery != "notify"
    ]  # fmt: skip
    if not wanted:
        return
    found = subjects(w.session, ctx.kind, [ch.decision.subject_id for ch in wanted])
    by_subject: dict[int, list[Change]] = defaultdict(list)
    for ch in wanted:
        by_subject[ch.decision.subject_id].append(ch)
    in_bundles = [s for s in by_subject if ctx.gates.get(s)]
    waiting = _waiting(w, in_bundles) if in_bundles else {}
    fresh: list[_Fresh] = []
    for subject_id, mine in by_subject.items():
        subject = found.get(subject_id)
        if subject is None:
            continue
        bundles: dict[str, list[tuple[PolicySpec, Change, int]]] = defaultdict(list)
        for ch in mine:
            spec = specs.policies[ch.decision.policy_id]
            item = (spec, ch, change_ids[ch.decision.key])
            bundle = next((b for b in spec.bundles if b in ctx.gates.get(subject_id, ())), None)
            if bundle is not None:
                bundles[bundle].append(item)
            else:
                fresh.append(_fresh(w, subject_id, subject, None, [item]))
        for bundle, items in bundles.items():
            claim = waiting.get((subject_id, bundle))
            if claim is None or not _join_bundle(w, claim, subject, items):
                fresh.append(_fresh(w, subject_id, subject, bundle, items))
    _insert(w, fresh)


def _end_all(w: _Writer, changes: Sequence[Change]) -> None:
    ctx = w.ctx
    ended: dict[int, set[str]] = defaultdict(set)
    for ch in changes:
        if ch.kind == "no_longer_eligible":
            ended[ch.decision.subject_id].add(ch.decision.policy_id)
    if not ended:
        return
    c, p = _CLAIM.c, _PART.c
    rows = w.session.connection().execute(
        core_select(p.id, p.claim_id, p.department, p.state, p.version, p.sections, p.ends_on,
                    c.subject_id, c.region, c.title, c.subject_kind, c.subject_key,
                    c.state.label("claim_state"), c.version.label("claim_version"))
        .join(_CLAIM, c.id == p.claim_id)
        .where(c.subject_kind == ctx.kind, c.subject_id.in_(sorted(ended)),
               p.state.in_(OPEN_STATES + _KEEPS))
    ).all()  # fmt: skip
    touched: set[int] = set()
    for r in rows:
        # a section that ended already keeps its date: a later end never moves it
        gone = [
            s["policy_id"] for s in r.sections
            if s["policy_id"] in ended[r.subject_id] and not s.get("ends_on")
        ]  # fmt: skip
        if not gone or r.ends_on is not None:
            continue
        key = (r.subject_id, gone[0])
        reason = ctx.reasons.get(key) or "不再符合享受条件"
        effective = ctx.effective_on.get(key, ctx.on_date)
        all_gone = all(s["policy_id"] in gone or s.get("ends_on") for s in r.sections)
        if r.state in OPEN_STATES and all_gone:
            moved = w.session.connection().execute(
                update(_PART).where(p.id == r.id, p.version == r.version)
                .values(state="withdrawn", version=r.version + 1, entered_on=ctx.on_date,
                        end_reason=reason[:500], updated_at=utcnow())
            )  # fmt: skip
            if moved.rowcount != 1:
                continue  # moved meanwhile by a person: the next sweep sees it again
            close_deadlines(w.session, r.claim_id, r.id)
            w.step(r.claim_id, r.id, "withdraw", r.state, "withdrawn", reason)
            what = {"action": "withdraw", "from": r.state, "to": "withdrawn"}
            touched.add(r.claim_id)
        else:
            sections = [
                {**s, "ends_on": effective.isoformat()} if s["policy_id"] in gone else s
                for s in r.sections
            ]
            values: dict[str, Any] = {"sections": sections, "updated_at": utcnow()}
            if all_gone:
                values |= {"ends_on": effective, "end_reason": reason[:500]}
            w.session.connection().execute(update(_PART).where(p.id == r.id).values(**values))
            what = {"action": "end", "state": r.state, "ends_on": effective.isoformat()}
        titles = [ctx.specs.policies[g].title for g in gone if g in ctx.specs.policies]
        details = {**what, "department": r.department, "policies": gone, "reason": reason,
                   "title": r.title, "policy_titles": titles,
                   "subject": {"kind": r.subject_kind, "key": r.subject_key}}  # fmt: skip
        w.record(r.claim_id, "end" if what["action"] == "end" else "withdraw", details,
                 inputs_hash({"part": r.id, "policies": gone}))  # fmt: skip
        w.office.append({
            "dedup_key": f"claim.ended:{r.id}:{ctx.on_date.isoformat()}", "claim_id": r.claim_id,
            "kind": "claim.ended", "office": department_office(r.region, r.department),
            "policy_id": gone[0], "payload": {"part_id": r.id, **details},
        })  # fmt: skip
    _withdraw_emptied(w, touched)


def _withdraw_emptied(w: _Writer, claims: set[int]) -> None:
    """Withdraw each claim, at a claim-level state, all of whose parts are withdrawn."""
    if not claims:
        return
    c, p = _CLAIM.c, _PART.c
    conn = w.session.connection()
    for claim_id in sorted(claims):
        states = {r.state for r in conn.execute(core_select(p.state).where(p.claim_id == claim_id))}
        head = conn.execute(core_select(c.state, c.version).where(c.id == claim_id)).one()
        if states != {"withdrawn"} or head.state not in OPEN_STATES:
            continue
        moved = conn.execute(
            update(_CLAIM).where(c.id == claim_id, c.version == head.version)
            .values(state="withdrawn", version=head.version + 1, entered_on=w.ctx.on_date,
                    updated_at=utcnow())
        )  # fmt: skip
        if moved.rowcount == 1:
            close_deadlines(w.session, claim_id)
            w.step(claim_id, None, "withdraw", head.state, "withdrawn", "各部门分项均已撤回")
            w.record(claim_id, "withdraw", {"from": head.state, "to": "withdrawn"}, "")


def open_and_end(
    session: Session, ctx: ClaimContext, changes: Sequence[Change], change_ids: Mapping[Key, int]
) -> dict[Key, dict[str, Any]]:
    """Open and end the claims of a chunk's changes (module docstring), in its transaction.

    Returns:
        By (subject, policy): the claim a newly eligible entitlement went into, for its notice
        (`id`, `kind`, `state`, `title`, and the materials `asked`, `waived` and `held`).
    """
    w = _Writer(session, ctx)
    _end_all(w, changes)
    _open_all(w, changes, change_ids)
    w.flush()
    return w.notes
