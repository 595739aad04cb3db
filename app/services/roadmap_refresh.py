"""Schedules of this domain (stub: the owner fills it in)."""
