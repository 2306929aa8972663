"""Scheduled rooms: recurrence in the host's time zone, occurrences, calendar export, invite links."""
