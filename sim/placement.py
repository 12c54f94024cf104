"""Placement on a pool's compiled arrays: which instances a job gets.

Allocation rule (docs/architecture.md): a job of at most one instance's chips shares an instance at chip
granularity and is never split; a larger job gets whole free instances, rounded up.

Three placements share one `PoolState` (registered by name in `PLACEMENTS`):

- `first_fit`: the lowest-index instance with room. Free chips per instance are the leaves of
  a 64-ary max tree in bytearrays, so that instance is found in O(log_64 n) — the engine's hot
  path — and a job of thousands of whole instances is placed and released by numpy.
- `best_fit`: the instance with the fewest free chips that still fits, found in buckets of
  instances by free-chip count.
- `topology_aware`: the lowest tier (UltraServer, pod, spine group, cluster) with room, and the
  best-fitting domain of that tier, found in buckets of domains by whole-free-instance count.

The buckets and per-tier counters are built by `PoolState.track()` the first time `best_fit` or
`topology_aware` runs on a pool, in O(n) with numpy, and then kept current on every allocate and
release; a pool only `first_fit` touches never pays for them. Every placement takes and gives
back a job of at least `BULK` whole instances by numpy (`PoolState._fill`): the tree, and on a
tracked pool the buckets (`Buckets.move_many`) and tier counters (`DomainTier.count_many`). Every cost above is independent
of the number of domains, so placement stays flat from ten thousand to millions of chips.
`PoolState.copy()` (look-ahead for backfill) is a handful of flat copies, O(n).
On an untracked pool such a release is deferred until the tree is next read, and a bulk take that
comes first claims its instances, writing only what differs (`PoolState._claim`): a large job
stopped by a failure and placed again in the same pass costs O(k), not a rewrite of the tree.

Per-element state is in bytearrays, Python lists and ints, not numpy: one element is read or
written per step, where those are several times faster (docs/architecture.md: running counters, not rescans). numpy views of the
same bytes serve the bulk updates of large allocations.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise

import numpy as np

from sim.names import TIERS as TIER_NAMES
from sim.topology import CompiledPool

MAX_CHIPS_PER_INSTANCE = 255  # free chips per instance are bytes
_AT_LEAST = [b"\x00" * c + b"\x01" * (256 - c) for c in range(256)]  # byte v -> 1 if v >= c else 0
BULK = 32  # allocations of at least this many instances update the tree in one sweep (untracked pools)
INSTANCE, ULTRASERVER, POD, SPINE, CLUSTER = range(5)
_FEW_DOMAINS = 64  # DomainTier.count_many moves up to this many domains one by one
_FEW_CLAIMED = 32  # PoolState._claim writes up to this many changed instances one by one


class Buckets:
    """m numbered sets of integers in [0, n) — bucket b holds the elements whose key is b — with
    lowest-member and successor queries.

    Each set is a 64-ary bit tree: level 0 has one bit per element in 64-bit words (Python
    ints), each level above one bit per non-empty word below, up to a single word. All sets
    live in one flat list (set b at `b * stride`), so a copy is one list copy. Bit b of `mask`
    is set while set b is non-empty: the first non-empty bucket at or above b is the lowest set
    bit of `mask >> b`. `add`, `discard`, `move`, `first` and `next_at_least` cost O(log_64 n):
    three or four small-int operations for a million elements.
    """

    __slots__ = ("words", "stride", "offsets", "lengths", "mask")

    def __init__(self, keys: np.ndarray, m: int):
        """Element i in bucket `keys[i]` (in none if outside 0..m-1); O(m n), vectorised."""
        keys = np.asarray(keys, dtype=np.int64)
        lengths = []
        size = len(keys)
        while True:
            size = (size + 63) >> 6 or 1
            lengths.append(size)
            if size == 1:
                break
        self.lengths: tuple[int, ...] = tuple(lengths)  # words per level, leaf first
        self.offsets: tuple[int, ...] = tuple(int(x) for x in np.cumsum([0, *lengths[:-1]]))
        self.stride = sum(lengths)
        words: list[int] = []
        mask = 0
        for b in range(m):
            bits = keys == b
            if bits.any():
                mask |= 1 << b
            for length in lengths:
                padded = np.zeros(64 * length, dtype=bool)
                padded[: len(bits)] = bits
                level = np.packbits(padded, bitorder="little").view("<u8")
                words.extend(level.tolist())
                bits = level != 0
        self.words = words
        self.mask = mask

    def copy(self) -> Buckets:
        new = object.__new__(Buckets)
        new.words, new.stride, new.offsets, new.lengths, new.mask = (
            self.words.copy(), self.stride, self.offsets, self.lengths, self.mask)
        return new

    def add(self, b: int, i: int) -> None:
        words = self.words
        base = b * self.stride
        for off in self.offsets:
            w = i >> 6
            k = base + off + w
            old = words[k]
            words[k] = old | (1 << (i & 63))
            if old:  # the word was already non-empty: the levels above know
                return
            i = w
        self.mask |= 1 << b  # the set was empty

    def discard(self, b: int, i: int) -> None:
        words = self.words
        base = b * self.stride
        for off in self.offsets:
            w = i >> 6
            k = base + off + w
            new = words[k] & ~(1 << (i & 63))
            words[k] = new
            if new:  # the word is still non-empty: the levels above stay
                return
            i = w
        self.mask &= ~(1 << b)  # emptied up to the top

    def move(self, i: int, old: int, new: int) -> None:
        """Element i's key changes from `old` to `new` (`discard` and `add`, inlined: hot)."""
        words = self.words
        offsets = self.offsets
        base = old * self.stride
        j = i
        for off in offsets:
            w = j >> 6
            k = base + off + w
            left = words[k] & ~(1 << (j & 63))
            words[k] = left
            if left:
                break
            j = w
        else:
            self.mask &= ~(1 << old)
        base = new * self.stride
        j = i
        for off in offsets:
            w = j >> 6
            k = base + off + w
            was = words[k]
            words[k] = was | (1 << (j & 63))
            if was:
                return
            j = w
        self.mask |= 1 << new

    def move_many(self, index: np.ndarray, old: int, new: int) -> None:
        """The elements in `index` (sorted, distinct), all in bucket `old`, move to bucket `new`:
        one update per 64-bit word they touch (grouped by numpy), not one per element."""
        self._update_many(index, old, False)
        self._update_many(index, new, True)

    def _update_many(self, index: np.ndarray, b: int, add: bool) -> None:
        words = self.words
        base = b * self.stride
        offsets = self.offsets
        w = index >> 6
        starts = _run_starts(w)
        bits = np.left_shift(np.uint64(1), (index & 63).astype(np.uint64))
        groups: Iterable[tuple[int, int]] = zip(w[starts].tolist(), np.bitwise_or.reduceat(bits, starts).tolist(),
                                                strict=True)
        for off in offsets:
            changed = []  # words that became non-empty (add) or empty: the level above changes
            k0 = base + off
            for word, bit_mask in groups:
                k = k0 + word
                was = words[k]
                now = was | bit_mask if add else was & ~bit_mask
                words[k] = now
                if not (was if add else now):
                    changed.append(word)
            if not changed:
                return
            groups = _group_bits(changed)  # few words change a level up: plain Python
        if add:
            self.mask |= 1 << b
        else:
            self.mask &= ~(1 << b)

    def first(self, b: int) -> int:
        """The lowest member of set b, or -1."""
        if not self.mask >> b & 1:
            return -1
        words = self.words
        base = b * self.stride
        i = 0
        for off in reversed(self.offsets):
            x = words[base + off + i]
            i = (i << 6) | ((x & -x).bit_length() - 1)
        return i

    def next_at_least(self, b: int, lo: int) -> int:
        """The lowest member of set b that is >= lo, or -1."""
        words = self.words
        base = b * self.stride
        offsets = self.offsets
        i = lo
        for depth, length in enumerate(self.lengths):
            w = i >> 6
            if w >= length:
                return -1
            shift = i & 63
            x = words[base + offsets[depth] + w] >> shift
            if x:
                i = (w << 6) | (shift + (x & -x).bit_length() - 1)
                for below in range(depth - 1, -1, -1):  # descend along the lowest set bits
                    x = words[base + offsets[below] + i]
                    i = (i << 6) | ((x & -x).bit_length() - 1)
                return i
            i = w + 1
        return -1

    def members(self, b: int) -> Iterator[int]:
        i = self.first(b)
        while i >= 0:
            yield i
            i = self.next_at_least(b, i + 1)


def _group_bits(members: list[int]) -> list[tuple[int, int]]:
    """Sorted members as (word, bit mask) pairs of a 64-ary bit level."""
    groups: list[tuple[int, int]] = []
    word, bit_mask = -1, 0
    for i in members:
        if i >> 6 != word:
            if bit_mask:
                groups.append((word, bit_mask))
            word, bit_mask = i >> 6, 0
        bit_mask |= 1 << (i & 63)
    groups.append((word, bit_mask))
    return groups


def _check_contiguous(tier: int, parent: np.ndarray) -> None:
    """Domains must be contiguous, in-order index ranges (as `topology.build_graph` numbers them):
    the tier counters and `PoolState.tier_of` rely on it."""
    step = np.diff(parent)
    if parent[0] != 0 or np.any((step != 0) & (step != 1)):
        raise ValueError(f"{TIER_NAMES[tier]} domains are not contiguous, in-order index ranges")


class DomainTier:
    """One tier of domains (UltraServers, pods or spine groups) of a pool: whole-free counters.

    Domains are contiguous index ranges of instances (as `topology.build_graph` numbers them):
    domain d holds instances `start[d] .. start[d] + size[d] - 1`. `whole_free[d]` counts its
    instances with every chip free, and `by_count` buckets domains by that count, so the
    best-fitting domain for k instances (fewest whole-free, at least k) is the lowest member of
    the first non-empty bucket at or above k: O(1) in the number of domains to find the bucket
    (a shift of `by_count.mask`), O(log_64 domains) for its lowest member.
    """

    __slots__ = ("tier", "parent", "of", "start", "size", "size_max", "whole_free", "_whole_free", "by_count")

    def __init__(self, tier: int, parent: np.ndarray, whole: np.ndarray):
        n = len(parent)
        _check_contiguous(tier, parent)
        step = np.diff(parent)
        starts = np.flatnonzero(np.concatenate([[True], step != 0]))
        sizes = np.diff(np.concatenate([starts, [n]]))
        counts = np.add.reduceat(whole.astype(np.int64), starts)
        self.tier = tier
        self.parent: list[int] = parent.tolist()
        self.of = parent  # the same, as numpy, for bulk updates
        self.start: list[int] = starts.tolist()
        self.size: list[int] = sizes.tolist()
        self.whole_free = array("q", counts.tolist())
        self._whole_free = np.frombuffer(self.whole_free, dtype=np.int64)
        self.size_max = int(sizes.max())
        self.by_count = Buckets(counts, self.size_max + 1)

    def copy(self) -> DomainTier:
        """An independent copy of the counters (the index ranges are shared: they never change)."""
        new = object.__new__(DomainTier)
        new.tier, new.parent, new.of, new.start, new.size = self.tier, self.parent, self.of, self.start, self.size
        new.size_max = self.size_max
        new.whole_free = self.whole_free[:]
        new._whole_free = np.frombuffer(new.whole_free, dtype=np.int64)
        new.by_count = self.by_count.copy()
        return new

    def count_many(self, index: np.ndarray, delta: int) -> None:
        """The instances in `index` (sorted, distinct) became whole-free (delta 1) or stopped
        being so (-1): their domains' counts change, and each domain moves bucket, in bulk per
        (old count, new count) pair."""
        parents = self.of[index]
        starts = _run_starts(parents)
        domains = parents[starts]
        held = np.diff(starts, append=len(parents))
        old = self._whole_free[domains]
        new = old + delta * held
        self._whole_free[domains] = new
        if len(domains) <= _FEW_DOMAINS:  # pods and spine groups: one move each
            move = self.by_count.move
            for d, was, now in zip(domains.tolist(), old.tolist(), new.tolist(), strict=True):
                move(d, was, now)
            return
        m = self.size_max + 1  # counts are 0 .. the largest domain's size
        pairs = old * m + new  # one key per (old count, new count): few, for many UltraServers
        for key in np.unique(pairs).tolist():
            self.by_count.move_many(domains[pairs == key], *divmod(key, m))


class Allocation:
    """The instances a job holds and the chips it takes on each.

    Large whole-instance allocations made by `first_fit` also carry `index`, the instances as
    a sorted numpy array, which bulk updates use; their `instances` list is then built only
    when something asks for it (a 256k-chip job is 16,384 instances, and failures stop and
    restart such jobs thousands of times a day).
    """

    __slots__ = ("_instances", "chips_each", "tier", "index")

    def __init__(self, instances: list[int] | None, chips_each: int, tier: int, index: np.ndarray | None = None):
        if instances is None and index is None:
            raise ValueError("an allocation needs its instances or their index")
        self._instances = instances
        self.chips_each = chips_each  # chips taken on each instance
        self.tier = tier
        self.index = index

    @property
    def instances(self) -> list[int]:
        if self._instances is None:
            assert self.index is not None  # an allocation has its instances or their index
            self._instances = self.index.tolist()
        return self._instances

    @property
    def count(self) -> int:
        """How many instances."""
        if self._instances is not None:
            return len(self._instances)
        assert self.index is not None
        return len(self.index)

    @property
    def chips(self) -> int:
        return self.chips_each * self.count

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Allocation):
            return NotImplemented
        return (self.instances, self.chips_each, self.tier) == (other.instances, other.chips_each, other.tier)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced: unhashable

    def __repr__(self) -> str:
        shown = self.instances if self.count <= 8 else f"[{self.instances[0]}, ... {self.count} instances]"
        return f"Allocation({shown}, chips_each={self.chips_each}, tier={TIER_NAMES[self.tier]})"


def _levels(n: int) -> list[bytearray]:
    """Zeroed 64-ary max levels over n leaves: the leaves first, padded to a multiple of 64, then
    one byte per 64 below (padded the same way), up to a single byte at the top."""
    levels = []
    size = n
    while True:
        levels.append(bytearray(-(-size // 64) * 64 if size > 1 else 1))
        if size <= 1:
            return levels
        size = len(levels[-1]) // 64


def _merged(base: np.ndarray, values: list[int]) -> np.ndarray:
    """Sorted `base` with the few sorted `values` (none of them in it) inserted, as a new array:
    one slice copy per run between them (np.insert's own overhead is several times that)."""
    out = np.empty(len(base) + len(values), dtype=np.int64)
    prev = 0
    for n, (at, v) in enumerate(zip(np.searchsorted(base, values).tolist(), values, strict=True)):
        out[prev + n : at + n] = base[prev:at]
        out[at + n] = v
        prev = at
    out[prev + len(values) :] = base[prev:]
    return out


def _run_starts(sorted_ints: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted integer array starts (np.unique's first
    indices, without its sort)."""
    keep = np.empty(len(sorted_ints), dtype=bool)
    keep[:1] = True
    np.not_equal(sorted_ints[1:], sorted_ints[:-1], out=keep[1:])
    return np.flatnonzero(keep)


class PoolState:
    """Free chips of one pool, with the running counters placement and metrics need.

    Free chips per instance are the leaves of a 64-ary max tree kept in bytearrays
    (`_levels`: the leaves, then one byte per 64 below, up to one byte at the top), with a numpy
    view of each level (`_views`) for bulk updates. A single instance's update touches one byte
    per level (about four for a million chips); finding the lowest-index instance with room
    reads one 64-byte window per level (translated to 0/1 by `_AT_LEAST[chips]`, then `find`);
    a large whole-instance allocation or release sets its leaves with one numpy assignment and
    recomputes only the level bytes above them, whatever the number of runs its instances form.
    Chips per instance must fit a byte (at most 255; the catalogue's largest has 144).

    Always kept: the tree, `free_chips` and `whole_free` (instances with every chip free).
    After `track()`, also: `by_free`, instances bucketed by free chips (bucket `cpi` = the
    whole-free ones), and `domains`, one `DomainTier` per tier the pool has, lowest first
    (ultraserver if any, pod, spine).
    """

    def __init__(self, compiled: CompiledPool):
        shape = compiled.shape
        self.shape = shape
        self.name = shape.name
        self.cpi = shape.chips_per_instance
        if not 1 <= self.cpi <= MAX_CHIPS_PER_INSTANCE:
            raise ValueError(f"pool {self.name}: {self.cpi} chips per instance; trnsim supports 1 to "
                             f"{MAX_CHIPS_PER_INSTANCE}")
        self.n = shape.instances
        self.capacity = shape.chips
        self._levels = _levels(self.n)
        self._levels[0][: self.n] = bytes([self.cpi]) * self.n
        whole_in = np.zeros(max(1, len(self._levels[0]) // 64), dtype=np.uint8)
        whole_in[: self.n // 64] = 64
        whole_in[self.n // 64 :][:1] += self.n % 64
        self._whole_in = bytearray(whole_in.tobytes())  # whole-free instances per block of 64
        for below, level in pairwise(self._levels):
            level[: len(below) // 64] = np.frombuffer(below, dtype=np.uint8).reshape(-1, 64).max(axis=1).tobytes()
        self._views()
        self.free_chips = self.capacity
        self.whole_free = self.n  # instances with every chip free
        for tier, parent in ((ULTRASERVER, compiled.ultraserver_of), (POD, compiled.pod_of),
                             (SPINE, compiled.spine_of)):
            if len(parent) and parent[0] >= 0:
                _check_contiguous(tier, parent)
        self.ultraserver_of = compiled.ultraserver_of.tolist()
        self.pod_of = compiled.pod_of.tolist()
        self.spine_of = compiled.spine_of.tolist()
        self.tracked = False
        self.by_free = Buckets(np.zeros(0, dtype=np.int64), 0)  # empty until track() builds it
        self.domains: list[DomainTier] = []
        self._pending: np.ndarray | None = None  # released instances not yet written in the tree (`release`)
        self._dropped: list[int] = []  # ... that went down since (`_unpend`)
        self._owner: int | None = None  # ... whose they were (`release`'s `owner`)
        self.claimed: tuple | None = None  # what the last take changed in a deferred release (`_claim`)

    def _views(self) -> None:
        """(Re)bind the level shortcuts and numpy views to `_levels`."""
        self._leaf = self._levels[0]
        self._upper = tuple(self._levels[1:])
        self._top = self._levels[-1]
        self._down = tuple(reversed(self._levels[:-1]))  # the levels below the top, top down
        self._arrays = tuple(np.frombuffer(level, dtype=np.uint8) for level in self._levels)
        self._whole_np = np.frombuffer(self._whole_in, dtype=np.uint8)

    # --- the tree ---------------------------------------------------------------------------
    def free(self, i: int) -> int:
        if self._pending is not None:
            self._flush()
        return self._leaf[i]

    def free_per_instance(self) -> list[int]:
        if self._pending is not None:
            self._flush()
        return list(self._leaf[: self.n])

    def _set(self, i: int, value: int) -> None:
        """Instance i now has `value` free chips: its leaf, the maxima above it, `whole_free`."""
        below = self._leaf
        old = below[i]
        if old == value:
            return
        cpi = self.cpi
        if old == cpi:
            self.whole_free -= 1
            self._whole_in[i >> 6] -= 1
        elif value == cpi:
            self.whole_free += 1
            self._whole_in[i >> 6] += 1
        below[i] = value
        if value > old:
            for level in self._upper:
                i >>= 6
                if level[i] >= value:
                    return
                level[i] = value
            return
        for level in self._upper:  # fewer free chips: a maximum above changes only if it was `old`
            i >>= 6
            if level[i] != old:
                return
            base = i << 6
            if below.find(old, base, base + 64) >= 0:  # another instance below still has `old`
                return
            level[i] = max(below[base : base + 64])
            below = level

    def _fill(self, index: np.ndarray, value: int) -> None:
        """Set the free chips of the instances in `index` (sorted, distinct) to `value`, all of
        which had the other of 0 and `cpi`: one numpy assignment for the leaves, then per level
        the maxima of the 64-windows they touched (`cpi` outright when they were freed), and on a
        tracked pool the buckets and tier counters in bulk too. The same tree and counters as
        `_set` on each instance in turn."""
        arrays = self._arrays
        arrays[0][index] = value
        whole = value == self.cpi
        self.whole_free += len(index) if whole else -len(index)
        blocks = index >> 6
        starts = _run_starts(blocks)
        touched = blocks[starts]
        held = np.diff(starts, append=len(index)).astype(np.uint8)  # at most 64 per block
        if whole:
            self._whole_np[touched] += held
        else:
            self._whole_np[touched] -= held
        if len(arrays) > 1:  # (a one-instance pool's leaf is its whole tree)
            arrays[1][touched] = value if whole else arrays[0].reshape(-1, 64)[touched].max(axis=1)
        for below, level in pairwise(arrays[1:]):
            touched = touched[_run_starts(touched >> 6)] >> 6
            level[touched] = value if whole else below.reshape(-1, 64)[touched].max(axis=1)
        if self.tracked:
            self.by_free.move_many(index, 0 if whole else self.cpi, value)
            for tier in self.domains:
                tier.count_many(index, 1 if whole else -1)

    def _flush(self) -> None:
        """Write the deferred release (`release`) into the tree and the block counts."""
        index = self._pending
        if index is not None:
            self._pending = None
            self._dropped = []
            self._fill(index, self.cpi)
            self.whole_free -= len(index)  # already counted when it was released

    def _unpend(self, i: int) -> bool:
        """Instance i, if it is in the deferred release, is taken whole again (it goes down): it
        leaves the release, its leaf already reads 0. False if it is not in the release."""
        index = self._pending
        assert index is not None
        pos = int(np.searchsorted(index, i))
        if pos == len(index) or index[pos] != i:
            return False
        self._pending = np.concatenate((index[:pos], index[pos + 1 :])) if len(index) > 1 else None
        self._dropped.append(i)
        self.whole_free -= 1
        return True

    def lowest_whole_free(self, k: int, lo: int = 0) -> np.ndarray:
        """The k lowest-index whole-free instances at or after `lo` (there must be k), sorted.

        `_whole_in` counts the whole-free instances in each block of 64 (kept by `_set` and
        `_fill`), so one cumulative sum over n/64 counts finds the block holding the k-th, and
        only the blocks in between that hold any are read: O(n/64 + 64 × those blocks), not a
        scan of every leaf from the first whole-free one. On the busy 5 GW campus year a
        16,384-instance job's span from the first whole-free instance to its k-th is ~4,500
        blocks, three quarters of them with none whole-free (benchmarks/whole-instances-results.md).
        (A descent of per-node whole-free counts was tried and measured slower: its numpy calls
        per tree level cost more than the bytes they skip.)"""
        if self._pending is not None:
            self._flush()
        cpi = self.cpi
        leaves = self._arrays[0]
        if len(leaves) < 64:  # a one-instance pool: its leaf is the whole tree
            return (np.flatnonzero(leaves[lo : self.n] == cpi) + lo)[:k]
        rows, first, counts, cum, last = self._span(k, lo)
        blocks = np.flatnonzero(counts[: last + 1])
        blocks += first
        hit = rows[blocks] == cpi
        if lo & 63 and blocks[0] == first:
            hit[0, : lo & 63] = False
        hits = np.flatnonzero(hit)  # row-major: sorted by instance
        return ((blocks[hits >> 6] << 6) | (hits & 63))[:k]

    def _span(self, k: int, lo: int) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, int]:
        """Where the k lowest whole-free instances at or after `lo` lie (there must be k): the
        leaves as rows of 64, the first block (lo's), the whole-free counts of the blocks from it
        (the first counting only from lo), their running sum, and `last`: the k-th is in block
        first + last."""
        rows = self._arrays[0].reshape(-1, 64)
        first = lo >> 6
        counts = self._whole_np[first:]
        if lo & 63:
            counts = counts.copy()
            counts[0] = np.count_nonzero(rows[first, lo & 63 :] == self.cpi)
        cum = np.cumsum(counts, dtype=np.int64)
        return rows, first, counts, cum, int(np.searchsorted(cum, k))

    def take_lowest_whole(self, k: int, lo: int = 0) -> np.ndarray:
        """Take the k lowest-index whole-free instances at or after `lo` (there must be k) and
        return them, sorted: `lowest_whole_free` then `_fill(index, 0)`, fused, so that the leaves
        read to find them are the leaves written. The per-block counts give the span of blocks
        holding the k; when few of its blocks hold any (a busy campus: about one in four), only
        those blocks are gathered, else the span is read as one slice (instances scattered one
        per block, as on a pool freed at random) — whichever reads fewer bytes. Same tree and
        counters as the two calls.

        With a release deferred (`release`), the k are chosen among its instances and the
        tree's whole-free ones together (`_claim`)."""
        if self._pending is not None:
            return self._claim(k, lo)
        cpi = self.cpi
        arrays = self._arrays
        leaves = arrays[0]
        if len(leaves) < 64:
            index = self.lowest_whole_free(k, lo)
            self._fill(index, 0)
            self.free_chips -= k * cpi
            return index
        rows, first, counts, cum, last = self._span(k, lo)
        whole_in = self._whole_np
        blocks = np.flatnonzero(counts[: last + 1])
        if 2 * len(blocks) > last + 1:  # most blocks of the span hold some: read it as one slice
            stop = first + last + 1
            index = np.flatnonzero(leaves[lo : stop * 64] == cpi)[:k]
            index += lo
            leaves[index] = 0
            span = rows[first:stop]
            whole_in[first:stop] = np.count_nonzero(span == cpi, axis=1)
            arrays[1][first:stop] = span.max(axis=1)
            a, b = first, stop - 1
            for below, level in pairwise(arrays[1:]):
                a, b = a >> 6, b >> 6
                level[a : b + 1] = below[a * 64 : (b + 1) * 64].reshape(-1, 64).max(axis=1)
        else:  # few blocks hold any: gather just those
            blocks += first
            held = rows[blocks]
            hit = held == cpi
            if lo & 63 and blocks[0] == first:
                hit[0, : lo & 63] = False
            hits = np.flatnonzero(hit)
            if int(cum[last]) > k:  # the last block has more than needed: they stay
                hit.ravel()[hits[k:]] = False
                hits = hits[:k]
            index = (blocks[hits >> 6] << 6) | (hits & 63)
            held[hit] = 0
            rows[blocks] = held
            whole_in[blocks] = 0  # every block gave up its whole-free instances, except perhaps
            for end in {0, len(blocks) - 1}:  # ... the first (those before lo) and the last (beyond the k-th)
                whole_in[blocks[end]] = np.count_nonzero(held[end] == cpi)
            touched = blocks
            arrays[1][touched] = held.max(axis=1)
            for below, level in pairwise(arrays[1:]):
                touched = touched[_run_starts(touched >> 6)] >> 6
                level[touched] = below.reshape(-1, 64)[touched].max(axis=1)
        self.whole_free -= k
        if self.tracked:
            self.by_free.move_many(index, cpi, 0)
            for tier in self.domains:
                tier.count_many(index, -1)
        self.free_chips -= k * cpi
        return index

    def _claim(self, k: int, lo: int) -> np.ndarray:
        """`take_lowest_whole` while a release R is deferred: the k lowest of R's instances and
        the tree's whole-free ones at or after `lo`, writing in the tree only how they differ
        from R — the tree's instances taken, R's instances left free. A job stopped by a failure
        gives back its instances and, in the same scheduling pass, is placed again on all but a
        few of them (on the campus year: 3.9 instances differ on average, of about 12,000): the
        tree's instances among the k are then found one by one (`_next_with`), and the cost is
        a few array copies of R instead of rewriting 2k leaves.

        `claimed` records (R's owner, instances taken from the tree, R's instances left free, R's
        instances that went down meanwhile): how the new allocation differs from R, for the
        failure process's instance -> job map (sim.engine.capacity)."""
        cpi = self.cpi
        whole_free = self.whole_free
        held = self._pending
        assert held is not None
        self._pending = None
        dropped, self._dropped = self._dropped, []
        a = int(np.searchsorted(held, lo)) if lo else 0
        mine = held[a:]  # R's instances at or after lo
        few = self._few_below(mine, k, lo)
        taken: list[int] | np.ndarray
        if few is not None:  # few of the tree's are among the k: R's lowest k - len(taken) are the rest
            taken = few
            t = len(taken)
            index = _merged(mine[: k - t], taken)
            for i in taken:
                self._set(i, 0)
        else:  # many: read every block below the k-th that holds any
            more = k - len(mine)  # how many at least come from the tree
            hi = int(mine[k - 1]) if more <= 0 else max(int(mine[-1]) if len(mine) else -1,
                                                        int(self.lowest_whole_free(more, lo)[-1]))
            found = self._whole_between(lo, hi)  # every one of the tree's that could be among the k
            index = np.insert(mine, np.searchsorted(mine, found), found)[:k]
            taken = found[: int(np.searchsorted(found, index[-1], side="right"))]
            t = len(taken)
            self._fill(taken, 0)
        left = mine[k - t :] if not a else np.concatenate((held[:a], mine[k - t :]))
        if len(left) > _FEW_CLAIMED:
            self._fill(left, cpi)
        else:
            for i in left.tolist():
                self._set(i, cpi)
        self.claimed = (self._owner, taken, left, dropped)
        self.whole_free = whole_free - k
        self.free_chips -= k * cpi
        return index

    def _few_below(self, mine: np.ndarray, k: int, lo: int) -> list[int] | None:
        """The tree's whole-free instances (from `lo`) among the k lowest of them and `mine`
        (sorted, disjoint from them), found one by one upwards; None if more than _FEW_CLAIMED."""
        cpi = self.cpi
        taken: list[int] = []
        x = lo
        while len(taken) < k:
            need = k - len(taken)  # the rest come from `mine` if the tree's next is above its need-th
            s = self._next_with(x, cpi)
            if need <= len(mine) and (s < 0 or s > int(mine[need - 1])):
                break
            assert s >= 0, "fewer whole-free instances than the take needs"
            if len(taken) == _FEW_CLAIMED:
                return None
            taken.append(s)
            x = s + 1
        return taken

    def _next_with(self, x: int, chips: int) -> int:
        """The lowest instance at or after x with at least `chips` free, or -1: up the tree from
        x's leaf until a window to the right holds one, then down to it, a 64-byte window per level."""
        at_least = _AT_LEAST[chips]
        levels = self._levels
        h = 0
        while h < len(levels):
            j = levels[h][x : (x | 63) + 1].translate(at_least).find(1)
            if j >= 0:
                x += j
                break
            x = (x >> 6) + 1
            h += 1
        else:
            return -1
        while h:
            h -= 1
            base = x << 6
            x = base + levels[h][base : base + 64].translate(at_least).find(1)
        return x

    def pop_claimed(self) -> tuple | None:
        """`claimed` of the last take, once (None if it claimed no deferred release)."""
        claimed, self.claimed = self.claimed, None
        return claimed

    def _whole_between(self, lo: int, hi: int) -> np.ndarray:
        """The tree's whole-free instances in [lo, hi], sorted: only the blocks that hold any are read."""
        blocks = np.flatnonzero(self._whole_np[lo >> 6 : (hi >> 6) + 1])
        blocks += lo >> 6
        hits = np.flatnonzero(self._arrays[0].reshape(-1, 64)[blocks] == self.cpi)
        found = (blocks[hits >> 6] << 6) | (hits & 63)
        return found[int(np.searchsorted(found, lo)) : int(np.searchsorted(found, hi, side="right"))]

    def _set_tracked(self, i: int, value: int) -> None:
        """`_set` that also moves instance i between free-count buckets and, when it becomes
        or stops being whole-free, its domains between whole-free buckets: O(tiers × log_64 n)."""
        old = self._leaf[i]
        if old == value:
            return
        self.by_free.move(i, old, value)
        cpi = self.cpi
        if old == cpi or value == cpi:
            delta = 1 if value == cpi else -1
            for tier in self.domains:
                d = tier.parent[i]
                c = tier.whole_free[d]
                tier.whole_free[d] = c + delta
                tier.by_count.move(d, c, c + delta)
        PoolState._set(self, i, value)  # the tree and whole_free (the untracked update, not self._set)

    def track(self) -> None:
        """Build the free-count buckets and per-tier whole-free counters from the current free
        chips (O(n), vectorised, once) and keep them current from now on."""
        if self.tracked:
            return
        self._flush()
        free = self._arrays[0][: self.n].astype(np.int64)
        self.by_free = Buckets(free, self.cpi + 1)
        whole = free == self.cpi
        self.domains = [DomainTier(tier, np.asarray(parent, dtype=np.int64), whole)
                        for tier, parent in ((ULTRASERVER, self.ultraserver_of), (POD, self.pod_of),
                                             (SPINE, self.spine_of))
                        if parent[0] >= 0]
        self._set = self._set_tracked  # type: ignore[method-assign]  # an instance attribute: release() and placements use it
        self.tracked = True

    def copy(self) -> PoolState:
        """An independent copy of the free state, to try placements and releases on (backfill
        projections). O(n) bytearray copies: the tree, and the buckets and counters if tracked;
        the shape and parent arrays are shared, as they never change."""
        self._flush()
        new = object.__new__(PoolState)
        new.__dict__.update(self.__dict__)
        new._dropped, new.claimed = [], None  # (not shared with the original)
        new._levels = [level.copy() for level in self._levels]
        new._whole_in = self._whole_in.copy()
        new._views()
        if self.tracked:
            new.by_free = self.by_free.copy()
            new.domains = [d.copy() for d in self.domains]
            new._set = new._set_tracked  # type: ignore[method-assign]  # not the original's bound method
        return new

    def first_with(self, chips: int) -> int:
        """Lowest-index instance with at least `chips` free (chips >= 1), or -1: one 64-byte
        window per level, from the top down."""
        if self._pending is not None:
            self._flush()
        if self._top[0] < chips:
            return -1
        at_least = _AT_LEAST[chips]
        i = 0
        for level in self._down:
            base = i << 6
            i = base + level[base : base + 64].translate(at_least).find(1)
        return i

    # --- jobs -------------------------------------------------------------------------------
    def instances_for(self, chips: int) -> int:
        """Instances a job of `chips` occupies (0 if it shares one)."""
        return 0 if chips <= self.cpi else -(-chips // self.cpi)

    def can_place(self, chips: int) -> bool:
        if chips <= self.cpi:
            if self._pending is not None:
                self._flush()
            return self._top[0] >= chips
        return self.whole_free * self.cpi >= chips

    def occupy(self, alloc: Allocation) -> None:
        """Take `alloc.chips_each` chips on each of its instances (the inverse of `release`)."""
        each = alloc.chips_each
        if self._pending is not None:
            if each == self.cpi and alloc.count == 1 and self._unpend(alloc.instances[0]):
                self.free_chips -= each  # an instance of the deferred release goes down
                return
            self._flush()
        leaf = self._leaf
        for i in alloc.instances:
            left = leaf[i] - each
            if left < 0:
                raise ValueError(f"instance {i} of pool {self.name} has only {leaf[i]} chips free")
            self._set(i, left)
        self.free_chips -= each * alloc.count

    def release(self, alloc: Allocation, owner: int | None = None) -> None:
        """Give back `alloc.chips_each` chips on each of its instances (`owner`: whose they
        were, a job number the engine gives, which `claimed` repeats).

        A release of `BULK` or more whole instances on a pool no placement tracks is deferred: its
        instances are counted free at once (`free_chips`, `whole_free`) but written in the tree only
        when something reads the tree — unless the next take of whole instances claims them first
        (`_claim`), as when a failure stops a large job that the same pass places again."""
        each = alloc.chips_each
        k = alloc.count
        if self._pending is not None:
            self._flush()
        if each == self.cpi and k >= BULK:
            index = alloc.index if alloc.index is not None else np.sort(np.asarray(alloc.instances, dtype=np.int64))
            if self.tracked:
                self._fill(index, each)
            else:
                self._pending, self._dropped, self._owner = index, [], owner
                self.whole_free += k
        else:
            leaf = self._leaf
            for i in alloc.instances:
                self._set(i, leaf[i] + each)
        self.free_chips += each * k

    def tier_of(self, instances: list[int]) -> int:
        """The lowest tier holding all the instances."""
        if len(instances) == 1:
            return INSTANCE
        return self._tier_of_range(min(instances), max(instances))

    def _tier_of_range(self, lo: int, hi: int) -> int:
        """The lowest tier whose one domain holds instances lo..hi (domains are contiguous index
        ranges, as `topology.build_graph` numbers them: the two ends decide)."""
        for tier, parent in ((ULTRASERVER, self.ultraserver_of), (POD, self.pod_of), (SPINE, self.spine_of)):
            if parent[lo] >= 0 and parent[lo] == parent[hi]:
                return tier
        return CLUSTER

    def min_tier(self, chips: int) -> int:
        """The lowest tier that could hold a job of `chips` at all (for its slowdown)."""
        k = self.instances_for(chips)
        if k <= 1:
            return INSTANCE
        shape = self.shape
        if shape.domain_size > 1 and k <= shape.domain_size:
            return ULTRASERVER
        if k <= min(shape.instances_per_pod, self.n):
            return POD
        if k <= min(shape.instances_per_pod * shape.pods_per_spine, self.n):
            return SPINE
        return CLUSTER


def first_fit(pool: PoolState, chips: int) -> Allocation | None:
    """Lowest-index placement: the first instance with room, or the first whole free instances.

    Cost: O(log_64 n) for a job sharing an instance (one window per level down, one byte per
    level up); O(k log_64 n) for a job of k whole instances; for k >= BULK on a pool no other
    placement has tracked, a few vectorised passes over the k instances and the leaves scanned
    to find them (`PoolState.take_lowest_whole`).
    """
    if pool._pending is not None and chips <= (BULK - 1) * pool.cpi:
        pool._flush()  # (a bulk take claims a deferred release instead)
    if chips <= pool.cpi:
        if pool._top[0] < chips:
            return None
        at_least = _AT_LEAST[chips]
        i = 0
        for level in pool._down:  # the lowest-index leaf with room (first_with, inlined: hot)
            base = i << 6
            i = base + level[base : base + 64].translate(at_least).find(1)
        pool._set(i, pool._leaf[i] - chips)
        pool.free_chips -= chips
        return Allocation([i], chips, INSTANCE)
    k = -(-chips // pool.cpi)
    if pool.whole_free < k:
        return None
    cpi = pool.cpi
    if k >= BULK:  # the same instances, by numpy
        return _take_bulk(pool, k, 0, None)
    taken = []
    for _ in range(k):
        i = pool.first_with(cpi)
        pool._set(i, 0)
        taken.append(i)
    pool.free_chips -= k * cpi
    return Allocation(taken, cpi, pool.tier_of(taken))


def _take_bulk(pool: PoolState, k: int, lo: int, tier: int | None) -> Allocation:
    """Take the k lowest-index whole-free instances from index `lo` on (there must be k), by
    numpy (`PoolState.take_lowest_whole`: `lowest_whole_free` and `_fill`, fused). The allocation's
    tier is `tier`, or the lowest holding them all when None."""
    index = pool.take_lowest_whole(k, lo)
    if tier is None:
        tier = pool._tier_of_range(int(index[0]), int(index[-1]))
    return Allocation(None, pool.cpi, tier, index)


def _take_whole(pool: PoolState, k: int, lo: int) -> list[int]:
    """Take the k lowest-index whole-free instances from index `lo` on (there must be k)."""
    cpi = pool.cpi
    by_free = pool.by_free
    taken = []
    i = lo
    for _ in range(k):
        i = by_free.next_at_least(cpi, i)
        pool._set(i, 0)  # it leaves the whole-free set
        taken.append(i)
    pool.free_chips -= k * cpi
    return taken


def _lowest_at_least(mask: int, x: int) -> int:
    """The lowest set bit of `mask` at or above bit x (a non-empty bucket's count), or -1."""
    m = mask >> x
    return x + (m & -m).bit_length() - 1 if m else -1


def _share(pool: PoolState, i: int, free: int, chips: int) -> Allocation:
    """Take `chips` on instance i, which has `free` chips free."""
    pool._set(i, free - chips)
    pool.free_chips -= chips
    return Allocation([i], chips, INSTANCE)


def best_fit(pool: PoolState, chips: int) -> Allocation | None:
    """Fewest free chips that still fit: the tightest instance for a job sharing one (ties:
    lowest index), which keeps whole instances free for larger jobs.

    A job of k whole instances gets the k lowest-index whole-free instances, as in first_fit
    (best fit has nothing to choose among whole instances; `topology_aware` looks at tiers).
    Cost: O(log n + tiers × log_64 n) for a job sharing an instance (the lowest set bit of
    `by_free.mask` above the request picks the bucket, its lowest member the instance, and the
    update keeps the buckets and tier counters current); k times that for k instances. The
    first call on a pool builds the buckets (`PoolState.track`, O(n) once, vectorised).
    """
    if not pool.tracked:
        pool.track()
    cpi = pool.cpi
    if chips <= cpi:
        c = _lowest_at_least(pool.by_free.mask, chips)
        return None if c < 0 else _share(pool, pool.by_free.first(c), c, chips)
    k = -(-chips // cpi)
    if pool.whole_free < k:
        return None
    if k >= BULK:
        return _take_bulk(pool, k, 0, None)
    taken = _take_whole(pool, k, 0)
    return Allocation(taken, cpi, pool.tier_of(taken))


def topology_aware(pool: PoolState, chips: int) -> Allocation | None:
    """The smallest tier that can hold the job, then the best fit inside it.

    A job of k whole instances goes to the lowest tier — UltraServer (pools that have them, k
    up to its size), pod, spine group, else the whole cluster — with a domain holding at least
    k whole-free instances; among that tier's domains, to the one with the fewest whole-free
    instances that still has k (ties: lowest index), and there to its k lowest-index whole-free
    instances. So the job's tier is the lowest that had room at that moment.

    A job sharing an instance is placed by best fit (fewest free chips that fit). When that
    means breaking a whole-free instance, it takes one from the lowest-tier domain with the
    fewest whole-free instances, so fully free UltraServers (or pods) stay whole.

    Cost: O(tiers + k × (log n + tiers × log_64 n)) — choosing a domain is a shift and a
    lowest-set-bit on one tier's `by_count.mask` plus one `Buckets.first`, never a walk over domains;
    for k >= BULK, vectorised passes over the k instances instead (`_take_bulk`).
    The first call on a pool builds the buckets (`PoolState.track`, O(n) once, vectorised).
    """
    if not pool.tracked:
        pool.track()
    cpi = pool.cpi
    if chips <= cpi:
        c = _lowest_at_least(pool.by_free.mask, chips)
        if c < 0:
            return None
        if c == cpi and pool.domains:
            lowest = pool.domains[0]
            # the domain with the fewest whole-free instances, at least one
            d = lowest.by_count.first(_lowest_at_least(lowest.by_count.mask, 1))
            i = pool.by_free.next_at_least(cpi, lowest.start[d])
        else:
            i = pool.by_free.first(c)
        return _share(pool, i, c, chips)
    k = -(-chips // cpi)
    if pool.whole_free < k:
        return None
    for tier in pool.domains:
        c = _lowest_at_least(tier.by_count.mask, k)
        if c >= 0:
            d = tier.by_count.first(c)
            return _take_tier(pool, k, tier.start[d], tier.tier)
    return _take_tier(pool, k, 0, CLUSTER)


def _take_tier(pool: PoolState, k: int, lo: int, tier: int) -> Allocation:
    """The k lowest-index whole-free instances from `lo` on, as an allocation at `tier`."""
    if k >= BULK:
        return _take_bulk(pool, k, lo, tier)
    return Allocation(_take_whole(pool, k, lo), pool.cpi, tier)


PLACEMENTS: dict[str, Callable[[PoolState, int], Allocation | None]] = {
    "first_fit": first_fit,
    "best_fit": best_fit,
    "topology_aware": topology_aware,
}
