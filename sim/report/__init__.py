"""Run reports: markdown now, html from the reports issue; plots with matplotlib (Agg)."""
