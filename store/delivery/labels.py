"""What each kind of notice is called, wherever a person reads it (the CLI, the console).

No imports: `zhida` loads it at start-up."""

from __future__ import annotations

__all__ = ["NOTICE_KINDS"]

NOTICE_KINDS = {
    "newly_eligible": "新符合",
    "no_longer_eligible": "不再符合",
    "amount_changed": "金额变化",
    "became_undetermined": "待补充信息",
    "claim.overdue": "超期督办",
    "claim.ended": "待遇终止",
}
