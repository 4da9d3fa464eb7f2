"""Relay-board lock adapter and simulator tests; no Django, no database."""
