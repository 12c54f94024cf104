"""Trace importers. Each yields rows of the neutral job table with their line numbers."""
