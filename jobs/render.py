"""A notice as each channel carries it — a stand-in until `jobs.notices` (templates) lands.

The webhook body is the outbox payload with the notice's id and kind, as UTF-8 JSON; the mail is
a short Chinese text. Neither carries anything the payload does not (no ID number: the payload
names the subject by surrogate id).
"""

from __future__ import annotations

from html import escape
from typing import Any

import orjson

from store.delivery.outbox import Claimed

__all__ = ["mail_parts", "webhook_body"]


def _body(notice: Claimed, msg_id: str) -> dict[str, Any]:
    return {
        "id": msg_id,
        "kind": notice.kind,
        "subject_label": notice.subject_label,
        **notice.payload,
    }


def webhook_body(notice: Claimed, msg_id: str) -> bytes:
    """The JSON body of the push (the same bytes on every try)."""
    return orjson.dumps(_body(notice, msg_id), option=orjson.OPT_SORT_KEYS)


def mail_parts(notice: Claimed, msg_id: str) -> tuple[str, str, str]:
    """(subject, text, html) of the mail."""
    policy = notice.payload.get("policy_title") or notice.payload.get("policy_id", "")
    subject = f"政策通知：{policy}"
    text = f"{notice.subject_label}：{policy}（{notice.kind}）。通知编号 {msg_id}。"
    return subject, text, f"<p>{escape(text)}</p>"
