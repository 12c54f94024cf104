"""Choosing whom to preempt: the fewest running jobs, from a preference order, that make room."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.policies.base import QueueView


def lowest_priority_latest_first(view: QueueView, pool: int, eligible: Callable[[int], bool]) -> list[int]:
    """The running jobs on `pool` for which `eligible(job)`, as preferred victims: lowest priority
    first, then the most recently started (`running_on` yields them in start order)."""
    priority = view.jobs.priority
    ranked = [(priority[r], -k, r) for k, r in enumerate(view.running_on(pool)) if eligible(r)]
    ranked.sort()
    return [r for _, _, r in ranked]


def fewest_victims(view: QueueView, job: int, pool: int, candidates: Sequence[int]) -> list[int] | None:
    """Running jobs on `pool`, taken from `candidates` (most preferred victim first), whose stopping
    lets `job` be placed there — checked with the real placement on a projection of the pool.

    Victims are taken in order until the job fits; then any earlier one the job turns out not to
    need keeps running (the last one taken is always needed). None if all of them together are
    not enough. Under a held power cap (`view.power_room`) they must also give back the watts the
    job lacks. Cost: one projection copy plus a release and a placement check per candidate.
    """
    if not candidates:
        return None
    chips = view.chips_on(job, pool)
    projected = view.projection(pool)
    short = view.power_need(job, pool) - view.power_room()  # watts the victims must give back (held cap)
    chosen = []
    for r in candidates:
        projected.release(view.allocation(r))
        chosen.append(r)
        short -= view.power_draw(r)
        if projected.can_place(chips) and short <= 0:
            break
    else:
        return None
    for r in reversed(chosen[:-1]):
        projected.occupy(view.allocation(r))
        draw = view.power_draw(r)
        if projected.can_place(chips) and short + draw <= 0:
            chosen.remove(r)
            short += draw
        else:
            projected.release(view.allocation(r))
    return chosen
