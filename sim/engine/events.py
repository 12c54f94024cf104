"""The event core: the only part of trnsim that touches simpy, and the only one that may use
its internals for speed.

simpy orders its heap by (time, priority, event id). Every event here is NORMAL (1) except the
scheduling pass, which is scheduled at PASS_PRIORITY (2) so that it runs after every other
event at the same timestamp: a pass sees every arrival, completion, failure and repair of its
time. Events are pushed on the heap directly instead of `Timeout` objects or processes: one
callback per state change, never a process per job. They are `Timed` records rather than
simpy `Event`s: `Environment.step` reads only an event's `callbacks` and `_ok` (and callbacks
read `_value`), and a record of those costs no `Event.__init__` — a completion per job is the
hottest line of the loop. For the same reason `run` is `Environment.run` with `step` inlined:
the same heap, in the same order, without a method call and an exception handler per event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any, cast

import simpy
from simpy.events import NORMAL

PASS_PRIORITY = 2


class Timed:
    """A timed callback as simpy's `Environment.step` processes it: `callbacks` are called with
    the record itself, which carries `_value`. It has always succeeded (`_ok`)."""

    __slots__ = ("callbacks", "_value")
    _ok = True
    callbacks: Sequence[Callable[[Timed], None]] | None  # None once simpy has fired it
    _value: Any  # what `at` was given: each callback knows what it scheduled


class EventCore:
    """simpy's environment, with timed callbacks, a reusable chained event and the pass rule."""

    __slots__ = ("env", "_queue", "_eid", "_pass", "_pass_pending")

    def __init__(self, scheduling_pass: Callable[[Timed | None], None]):
        self.env = simpy.Environment()
        # simpy's heap, typed for its Events, holds these records too (see the module docstring)
        self._queue = cast("list[tuple[float, int, int, Timed]]", self.env._queue)
        self._eid = self.env._eid
        self._pass = scheduling_pass
        self._pass_pending = False

    @property
    def now(self) -> float:
        return self.env._now

    def at(self, t: float, callback: Callable[[Timed], None], value: object) -> None:
        """Call `callback` at time t with a record whose `_value` is `value`."""
        ev = Timed()
        ev.callbacks = [callback]
        ev._value = value
        heappush(self._queue, (t, NORMAL, next(self._eid), ev))

    def reuse(self, ev: Timed, callbacks: Sequence[Callable[[Timed], None]], t: float) -> None:
        """Schedule an already-fired record again at time t (the arrival chain: one record for
        every distinct submit time; simpy clears `callbacks` when it fires one)."""
        ev.callbacks = callbacks
        heappush(self._queue, (max(self.env._now, t), NORMAL, next(self._eid), ev))

    @staticmethod
    def chained_event() -> Timed:
        ev = Timed()
        ev._value = None
        return ev

    def request_pass(self) -> None:
        """Make sure one scheduling pass runs at this timestamp, after every other event at it.

        When no other event is due at this time, the pass runs inline: it would have been the
        very next event anyway, and this saves an event per trigger (most triggers in practice).
        """
        if self._pass_pending:
            return
        queue = self._queue
        now = self.env._now
        if not queue or queue[0][0] > now:
            self._pass(None)
            return
        self._pass_pending = True
        ev = Timed()
        ev.callbacks = [self._deferred_pass]
        ev._value = None
        heappush(queue, (now, PASS_PRIORITY, next(self._eid), ev))

    def hold_passes(self) -> bool:
        """Hold back passes while one callback handles several events of this time; True if this
        call took the hold (give it back with `release_passes`)."""
        if self._pass_pending:
            return False
        self._pass_pending = True
        return True

    def release_passes(self, wanted: bool) -> None:
        """End a hold; ask for the pass (now or after the other events of this time) if `wanted`."""
        self._pass_pending = False
        if wanted:
            self.request_pass()

    def _deferred_pass(self, ev: Timed) -> None:
        self._pass_pending = False  # a trigger during the pass at this time needs a pass of its own
        self._pass(ev)

    def run(self, until: float | None) -> float:
        """Run to the end of the events (or to `until`: as simpy's `run(until=...)`, the events
        due before it, none at it, and the clock left at it); the time reached.

        simpy's `Environment.step`, inlined: pop the earliest (time, priority, id) entry, set the
        clock, hand the record to its callbacks. Every entry on this heap is a `Timed` record,
        which has always succeeded, so simpy's check for a failed event that nobody handled has
        nothing to do here."""
        env = self.env
        queue = self._queue
        pop = heappop
        if until is not None and not until > env._now:
            raise ValueError(f"until (= {until}) must be greater than the current time")
        limit = float("inf") if until is None else until
        while queue and queue[0][0] < limit:
            env._now, _, _, ev = pop(queue)
            callbacks = ev.callbacks
            ev.callbacks = None
            assert callbacks is not None  # (a record is on the heap once at a time)
            for callback in callbacks:
                callback(ev)
        if until is not None:
            env._now = until
        return env._now
