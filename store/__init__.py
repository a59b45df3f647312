"""Storage: the database (db), its tables, ingest, the sweep and the audit log.

db.py       engines for SQLite and PostgreSQL, sessions, migrations (migrations/)
tables/     the SQLModel tables
ingest/     validated profiles into the database: resumable runs, upserts, change records
sweep/      every stored profile through the vectorised engine: entitlement intervals, changes,
            the outbox, history, impact of a candidate catalogue
audit/      the hash-chained audit log; publishing a catalogue
"""
