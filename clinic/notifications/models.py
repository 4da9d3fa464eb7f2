"""Notification records (filled in by the push feature)."""
