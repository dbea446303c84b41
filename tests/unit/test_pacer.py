"""The relay's pacing: at most one post per channel per interval; other channels don't wait."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.services.storm import Pacer


def test_a_second_post_to_the_same_channel_waits_and_another_channel_does_not() -> None:
    pacer, interval = Pacer(), timedelta(milliseconds=150)
    started = time.monotonic()
    pacer.wait("C1", interval)
    pacer.wait("C2", interval)
    assert time.monotonic() - started < 0.1
    pacer.wait("C1", interval)
    assert time.monotonic() - started >= 0.14


def test_no_interval_means_no_waiting() -> None:
    pacer = Pacer()
    started = time.monotonic()
    for _ in range(100):
        pacer.wait("C1", timedelta(0))
    assert time.monotonic() - started < 0.05
