"""Matching, pure (no database, no web): profiles in, decisions with reasons out.

profiles/     a raw profile (JSON, a sheet row, a test case) → validated shape → the flat facts
              engines read; identifiers (ID numbers, credit codes), regions, derived facts, logs
interpreter/  the explaining engine: one subject, exact numbers, three-valued with ranges
vector/       the vectorised engine: a population as columns, float64 proved exact or redone
events/       the durable-rules event engine: compiler, encoding, runtime; life events
explain/      what a result says: reports, impact tallies, the `tests:` cases of policy files
"""
