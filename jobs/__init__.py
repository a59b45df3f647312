"""Scheduled jobs and outbound channels (a later issue)."""
