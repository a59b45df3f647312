"""Storage: SQLModel tables, sessions and keyword-only storage functions (a later issue)."""
