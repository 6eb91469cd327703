"""A wall clock a test sets by hand (``wall.t = 3.0``), for the clocks that judge idleness by it."""

from __future__ import annotations


class SetWall:
    """Returns ``t`` when called, as ``time.monotonic`` would return the time; starts at 0."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t
