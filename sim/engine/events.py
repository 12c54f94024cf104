"""The event core: the only part of trnsim that touches simpy, and the only one that may use
its internals for speed.

simpy orders its heap by (time, priority, event id). Every event here is NORMAL (1) except the
scheduling pass, which is scheduled at PASS_PRIORITY (2) so that it runs after every other
event at the same timestamp: a pass sees every arrival, completion, failure and repair of its
time. Events are built directly (an `Event` with its callback, pushed on the heap) instead of
`Timeout` objects or processes: one callback per state change, never a process per job.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush

import simpy
from simpy.events import NORMAL, Event

PASS_PRIORITY = 2


class EventCore:
    """simpy's environment, with timed callbacks, a reusable chained event and the pass rule."""

    __slots__ = ("env", "_queue", "_eid", "_pass", "_pass_pending")

    def __init__(self, scheduling_pass: Callable[[Event | None], None]):
        self.env = simpy.Environment()
        self._queue = self.env._queue
        self._eid = self.env._eid
        self._pass = scheduling_pass
        self._pass_pending = False

    @property
    def now(self) -> float:
        return self.env._now

    def at(self, t: float, callback: Callable[[Event], None], value: object) -> None:
        """Call `callback` at time t with an event whose `_value` is `value` (a timeout, built
        directly: the hottest line of the loop, once per job)."""
        ev = Event(self.env)
        ev.callbacks.append(callback)
        ev._ok = True
        ev._value = value
        heappush(self._queue, (t, NORMAL, next(self._eid), ev))

    def reuse(self, ev: Event, callbacks: list, t: float) -> None:
        """Schedule an already-fired event again at time t (the arrival chain: one object for
        every distinct submit time). simpy only reads an event's callback list once."""
        ev.callbacks = callbacks
        heappush(self._queue, (max(self.env._now, t), NORMAL, next(self._eid), ev))

    def chained_event(self) -> Event:
        ev = Event(self.env)
        ev._ok = True
        return ev

    def request_pass(self) -> None:
        """Make sure one scheduling pass runs at this timestamp, after every other event at it.

        When no other event is due at this time, the pass runs inline: it would have been the
        very next event anyway, and this saves an event per trigger (most triggers in practice).
        """
        if self._pass_pending:
            return
        queue = self._queue
        if not queue or queue[0][0] > self.env._now:
            self._pass(None)
            return
        self._pass_pending = True
        ev = Event(self.env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._deferred_pass)
        self.env.schedule(ev, PASS_PRIORITY)

    def _deferred_pass(self, ev: Event) -> None:
        self._pass_pending = False  # a trigger during the pass at this time needs a pass of its own
        self._pass(ev)

    def run(self, until: float | None) -> float:
        """Run to the end of the events (or to `until`); the time reached."""
        if until is not None:
            self.env.run(until=until)
        else:
            self.env.run()
        return self.env.now
