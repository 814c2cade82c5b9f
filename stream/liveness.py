"""The liveness watchdog: a worker that holds lag and makes no progress says why and exits.

Every few seconds the worker takes, for each input partition it is assigned, the offset
its group committed, the offset it has read up to and the partition's end offset. A
partition *stalls* when it has lag (end > committed) and its committed offset has not
moved for ``timeout`` seconds since the lag appeared. The watchdog then logs each stalled
partition with its offsets and what the agent is doing (its stage and the innermost
frames of its task), and ends the process with :data:`EXIT_STALLED`, so that a
supervisor (``feedback worker --supervise``, compose's restart policy) starts a new one.
Nothing is lost: the uncommitted records are read again, and their documents carry
their event ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["EXIT_STALLED", "PartitionState", "ProgressTracker", "Stall"]

EXIT_STALLED = 3


@dataclass(frozen=True)
class PartitionState:
    """One input partition as the consumer sees it now."""

    topic: str
    partition: int
    committed: int | None
    read: int | None
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - (self.committed or 0))


@dataclass(frozen=True)
class Stall:
    state: PartitionState
    seconds: float
    last_progress: float


@dataclass
class ProgressTracker:
    """Remembers, per partition, the committed offset and since when it has not moved.

    >>> t = ProgressTracker(timeout=10)
    >>> t.update([PartitionState("raw", 0, 5, 9, 9)], now=0.0)
    []
    >>> [s.state.partition for s in t.update([PartitionState("raw", 0, 5, 9, 9)], now=11.0)]
    [0]
    >>> t.update([PartitionState("raw", 0, 6, 9, 9)], now=12.0)
    []
    """

    timeout: float
    _committed: dict[tuple[str, int], int | None] = field(default_factory=dict)
    _since: dict[tuple[str, int], float] = field(default_factory=dict)
    last_progress: dict[tuple[str, int], float] = field(default_factory=dict)
    _lagging: set[tuple[str, int]] = field(default_factory=set)

    def restart_clock(self, now: float) -> None:
        """Offsets could not be read: wait a whole ``timeout`` again before judging."""
        for key in self._since:
            self._since[key] = now

    def update(self, states: Iterable[PartitionState], *, now: float) -> list[Stall]:
        """Take a new look at the partitions; the ones stalled for ``timeout`` come back."""
        stalls: list[Stall] = []
        seen: set[tuple[str, int]] = set()
        for st in states:
            key = (st.topic, st.partition)
            seen.add(key)
            if key not in self._committed or self._committed[key] != st.committed:
                if key in self._committed:
                    self.last_progress[key] = now
                self._committed[key] = st.committed
                self._since[key] = now
            if st.lag == 0:
                self._lagging.discard(key)  # nothing to do is not a stall
                continue
            if key not in self._lagging:
                self._lagging.add(key)
                self._since[key] = now  # the clock starts when the lag appears
            waited = now - self._since[key]
            if waited >= self.timeout:
                stalls.append(Stall(st, waited, self.last_progress.get(key, 0.0)))
        for key in set(self._committed) - seen:  # revoked: forget, a new owner judges it
            self._committed.pop(key, None)
            self._since.pop(key, None)
            self._lagging.discard(key)
        return stalls
