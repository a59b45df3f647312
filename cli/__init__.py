"""The `zhida` command: a thin shell over the packages below it (no eligibility logic here).

`cli.base` holds the application and what commands share; each module registers its commands
when imported, and imports what a command needs only when the command runs.
"""

from cli import (
    audit,
    claim_files,
    claims,
    demo_users,
    impact,
    imports,
    notices,
    policies,
    profiles,
    report,
    scheduler,
    serve,
    sheets,
    subscriptions,
    sweep,
    users,
)
from cli.base import app, main

claim_files.register(claims.claims_app)  # idempotent: cli.claims may call it too

__all__ = [
    "app",
    "main",
    "audit",
    "claim_files",
    "demo_users",
    "impact",
    "imports",
    "notices",
    "policies",
    "profiles",
    "report",
    "scheduler",
    "serve",
    "sheets",
    "subscriptions",
    "sweep",
    "claims",
    "users",
]
