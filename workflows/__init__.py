"""Viewflow flows: the only place a booking changes state."""
