"""The relay's pacing: at most one post per channel per interval; other channels don't wait."""

from __future__ import annotations

from datetime import timedelta

from bot.slack.pacing import Pacer


class Time:
    """A monotonic clock that moves only when slept on (or told to)."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_a_second_post_to_the_same_channel_waits_and_another_channel_does_not() -> None:
    time = Time()
    pacer = Pacer(timedelta(seconds=1), monotonic=lambda: time.now, sleep=time.sleep)
    pacer.wait("C1")
    pacer.wait("C2")
    assert time.slept == []
    time.now += 0.25
    pacer.wait("C1")
    assert time.slept == [0.75]
    pacer.wait("C1")  # the next one waits a whole interval after the one that just went
    assert time.slept == [0.75, 1.0]
    time.now += 5
    pacer.wait("C1")  # long after: at once
    assert time.slept == [0.75, 1.0]


def test_no_interval_means_no_waiting() -> None:
    time = Time()
    pacer = Pacer(timedelta(0), monotonic=lambda: time.now, sleep=time.sleep)
    for _ in range(100):
        pacer.wait("C1")
    assert time.slept == []
