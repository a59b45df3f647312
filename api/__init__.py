"""The Litestar web service (a later issue)."""
