"""The console pages of the reviewers: the township (乡镇审核), the county (县级) and the county
departments (部门经办) — their queue, the claim page every claim reader shares, and a
department's payment batch (see docs/console.md, 「乡镇、县级审核与部门经办」).

| path | who | module |
|---|---|---|
| /console/queue (+ /batch) | township, county, department | `queue` |
| /console/claims/{id} (+ /step) | every role that reads claims | `claim` |
| /console/department/files (+ /export, /payments) | department | `files` |

`views` and `queue_views` turn the store's answers and the workflow table into what the
templates show (the buttons a viewer is offered, deadlines in working days, the queue's filters);
the handlers only call the store and hand over.
"""

from __future__ import annotations

from typing import Any

from api.console.pages.review.claim import claim_page, step_form
from api.console.pages.review.files import export_file, files_page, payments_form
from api.console.pages.review.queue import batch_form, queue_page

__all__ = ["ROUTES"]

ROUTES: list[Any] = [
    queue_page,
    batch_form,
    claim_page,
    step_form,
    files_page,
    export_file,
    payments_form,
]
