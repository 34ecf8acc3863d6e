"""Schedules of exploration rates (and step sizes) over episodes or environment steps."""
from __future__ import annotations

__all__ = ["LinearSchedule"]


class LinearSchedule:
    """``start`` at t = 0, moving linearly to ``end`` at t = ``duration``, then ``end``.

    The ε of ε-greedy exploration in DQN (1.0 → 0.1 over the first million frames in the
    Nature paper) and in tabular Q-learning (over episodes). ``duration`` 0 means ``end`` from
    the start.
    """

    def __init__(self, start: float, end: float, duration: int):
        if duration < 0:
            raise ValueError(f"LinearSchedule: duration must be >= 0, got {duration}")
        self.start, self.end, self.duration = float(start), float(end), int(duration)

    def __call__(self, t: int) -> float:
        if t >= self.duration:
            return self.end
        return self.start + (self.end - self.start) * (t / self.duration)

    def __repr__(self):
        return f"LinearSchedule(start={self.start}, end={self.end}, duration={self.duration})"
