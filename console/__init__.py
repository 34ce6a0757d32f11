"""Audit Console: a terminal console for the moderators of Discord servers."""

__version__ = "0.1.0"
