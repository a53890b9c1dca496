"""Checks of the fiber theory pages (filled in by the fiber work)."""
