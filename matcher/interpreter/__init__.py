"""The explaining interpreter: one subject at a time, exact numbers, a reason for every verdict."""
