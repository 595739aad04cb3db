"""Inbox, deal queue, worker, schedules and retry policy."""
