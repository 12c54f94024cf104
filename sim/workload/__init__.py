"""Workload: every scenario entry turned into one table of jobs (columns, not objects)."""

from sim.workload.build import Jobs, SkippedRow, build_jobs

__all__ = ["Jobs", "SkippedRow", "build_jobs"]
