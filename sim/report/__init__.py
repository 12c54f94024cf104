"""Run reports and comparisons: one document rendered as markdown and as self-contained HTML (jinja2), figures drawn with matplotlib (Agg)."""
