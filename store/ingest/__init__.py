"""Ingest: a checked sheet into the database, chunk by chunk, resumable, audited."""
