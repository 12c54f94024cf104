"""Starting a job by preempting others, in three seams (as Blox splits a scheduler into admission,
ordering and placement; Agarwal et al., EuroSys 2024): a policy says on which pools a job may
preempt and whom, most preferred victim first (`candidates`); `fewest_victims` picks the fewest of
them that make room, checked with the real placement; `preempt_to_start` yields the preemptions
and the start. `priority`, `fair_share` and `las` differ only in their candidates."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence

from sim.policies.base import Decision, Preempt, QueueView, Start


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


def preempt_to_start(view: QueueView, job: int, pools: Iterable[int], candidates: Callable[[int], Sequence[int] | None],
                     no_room: Callable[[int], None] | None = None) -> Generator[Decision, None, int | None]:
    """Start `job` on the first of `pools` where preempting makes room: `candidates(pool)` admits a
    pool (None: not this one) and orders the running jobs that may be stopped there, most preferred
    victim first; the fewest of them that make room (`fewest_victims`) are preempted, then `job`
    starts. `no_room(pool)` hears of an admitted pool where even all of them were not enough.
    Use with `yield from`; it returns the pool the job started on, or None.
    """
    for pool in pools:
        order = candidates(pool)
        if order is None:
            continue
        victims = fewest_victims(view, job, pool, order)
        if victims is None:
            if no_room is not None:
                no_room(pool)
            continue
        for victim in victims:
            yield Preempt(victim)
        yield Start(job, pool)
        return pool
    return None
