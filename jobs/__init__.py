"""Scheduled jobs: one APScheduler per job store, held by a singleton lock (issue 10).

lock.py      the singleton lock: a PostgreSQL advisory lock, or a lock file beside SQLite
schedule.py  the scheduler, its job store in our database, the jobs and their options
tasks.py     what the jobs run, each an importable "module:function" taking plain arguments
webhooks.py  Standard Webhooks v1: secrets, signatures, and URLs that must not reach inside
mail.py      the e-mail channel over SMTP
"""
