"""Households and enterprises as one caller sees and changes them (the API's subjects area).

Every function takes the caller's `store.scope.Scope` and filters in SQL: a subject outside it
is not found (None), so the API answers 404 and existence is not revealed (RELIABILITY P2).

- `reads`: lists and views with ID numbers masked; the identity view (full ID numbers, for the
  household's own village only, audited as `household.identity`); entitlements on a date and
  their history.
- `writes`: a whole profile upserted, or some facts changed, through the live event path
  (`store.events.apply`), in one transaction with the scope check.
"""

from store.subjects.reads import (
    EnterpriseView,
    HouseholdView,
    IdentityView,
    MemberView,
    Page,
    SubjectRef,
    enterprise_view,
    find_subject,
    household_identity,
    household_view,
    list_enterprises,
    list_households,
    subject_entitlements,
    subject_history,
)
from store.subjects.writes import patch_subject, put_subject, read_patch

__all__ = [
    "EnterpriseView",
    "HouseholdView",
    "IdentityView",
    "MemberView",
    "Page",
    "SubjectRef",
    "enterprise_view",
    "find_subject",
    "household_identity",
    "household_view",
    "list_enterprises",
    "list_households",
    "patch_subject",
    "put_subject",
    "read_patch",
    "subject_entitlements",
    "subject_history",
]
