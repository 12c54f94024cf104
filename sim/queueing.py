"""Closed forms for multi-server queues: Erlang C (M/M/c) and Allen–Cunneen (G/G/c).

Used by `trnsim plan`'s knee plot, the teaching pack and the theory tests. Times are in
seconds; `a` is the offered load in servers (lambda x mean service time).
"""

from __future__ import annotations

import math


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load a = lambda/mu < c (Erlang C).

    Via the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), which never forms a^c or c!
    and so stays stable for large c; then C = B / (1 - (a/c)(1 - B)).
    """
    if a >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b / (1.0 - (a / c) * (1.0 - b))


def mmc_mean_wait(c: int, arrival_rate: float, mean_service: float) -> float:
    """Mean time in queue Wq of M/M/c: C(c, a) / (c mu - lambda); infinity when a >= c."""
    a = arrival_rate * mean_service
    if a >= c:
        return math.inf
    return erlang_c(c, a) / (c / mean_service - arrival_rate)


def allen_cunneen_mean_wait(c: int, arrival_rate: float, mean_service: float, ca2: float = 1.0,
                            cs2: float = 1.0) -> float:
    """Allen–Cunneen's G/G/c approximation: Wq(M/M/c) x (ca^2 + cs^2) / 2.

    ca2, cs2: squared coefficients of variation of interarrival and service times (1 and 1
    for M/M/c, where it is exact).
    """
    return mmc_mean_wait(c, arrival_rate, mean_service) * (ca2 + cs2) / 2.0


def wait_quantile(c: int, arrival_rate: float, mean_service: float, q: float, ca2: float = 1.0,
                  cs2: float = 1.0) -> float:
    """The q-quantile of the wait: P(W > t) = C exp(-t C / Wq), exact for M/M/c.

    Waits that are not zero are exponential in M/M/c with mean Wq / C; Allen–Cunneen scales
    that mean by (ca^2 + cs^2) / 2. Zero when the chance of waiting is below 1 - q.
    """
    a = arrival_rate * mean_service
    if a >= c:
        return math.inf
    p_wait = erlang_c(c, a)
    if p_wait <= 1.0 - q:
        return 0.0
    conditional_mean = allen_cunneen_mean_wait(c, arrival_rate, mean_service, ca2, cs2) / p_wait
    return conditional_mean * math.log(p_wait / (1.0 - q))
