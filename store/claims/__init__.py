"""Claims (申领): opened from entitlement changes, moved by workflow steps, read for queues.

- `store.claims.specs`: what a claim needs of each policy and bundle (from the catalogue).
- `store.claims.opening`: grants, prepared and bundle claims opened, and claims ended, in the
  transaction that writes the entitlement changes (the sweep's and the event path's).
- `store.claims.steps`: a step on a claim or a department's part (compare-and-set on the
  version, idempotent by key, audited, with its deadline in working days).
- `store.claims.reads`: lists by state and region prefix, and one claim with its history.
- `store.claims.scoped`: the same for one login's `Scope` (the API): the caller's queue, one
  claim (404 outside the scope), steps on claims the caller sees.
- `store.claims.deadlines`: due deadlines into reminders and escalations (office notices).
- `store.claims.export`, `payments`: a department's batch sheet, and its payments read back.
- `store.claims.report`: the outcomes report.
See docs/claims.md.
"""
