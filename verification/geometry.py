"""Checks of the geometry theory pages (filled in by the geometry work)."""
