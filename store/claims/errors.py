"""The one error of the claims store, with what kind of refusal it is (the API maps the kind)."""

from __future__ import annotations

from typing import Literal

from rules.errors import ZhidaError

__all__ = ["ClaimError", "Why"]

# not_found: no such claim in the caller's scope (the API answers 404, existence not revealed);
# refused: the workflow says no (role, region, separation of duties, a reason missing);
# conflict: the claim moved meanwhile (stale version) or the key was used by a request under way;
# invalid: the request itself is wrong (an unknown state, a key reused for another request, a
# bad payment file); calendar: a deadline cannot be counted (the year's holidays are unknown).
Why = Literal["not_found", "refused", "conflict", "invalid", "calendar"]


class ClaimError(ZhidaError):
    """A claim operation refused, with the claim and why, in Chinese; nothing was changed."""

    def __init__(self, message: str, *, why: Why, claim_id: int | None = None) -> None:
        super().__init__(message)
        self.why: Why = why
        self.claim_id = claim_id
