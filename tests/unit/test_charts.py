"""The weekly digest's chart: a valid PNG of a sensible size, whatever the figures (gaps, no tickets)."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, timedelta, timezone

from bot.charts import HEIGHT, WIDTH, DPI, sla_chart
from bot.domain.reports import LevelFigures, Report

UNTIL = datetime(2026, 12, 7, 8, tzinfo=timezone.utc)


def weeks(count: int, *, attainment: float | None = 0.8, opened: int = 12) -> list[Report]:
    out = []
    for i in range(count, 0, -1):
        since = UNTIL - timedelta(days=7 * i)
        levels = tuple(LevelFigures(level=key, title=f"{key} level", opened=opened + n, attainment=attainment)
                       for n, key in enumerate(("L1", "L2", "L3")))
        out.append(Report(since=since, until=since + timedelta(days=7), levels=levels,
                          total=LevelFigures(level="all", title="All levels")))
    return out


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature and the chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:16 + length]
    assert struct.unpack(">I", data[16 + length:20 + length])[0] == zlib.crc32(kind + body)
    assert data.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", body[:8])


def test_the_chart_is_a_valid_png_of_a_readable_size() -> None:
    data = sla_chart(weeks(8), [f"w{i}" for i in range(8)], title="SLA report, week of 30 Nov 2026")
    assert png_size(data) == (int(WIDTH * DPI), int(HEIGHT * DPI))
    assert 10_000 < len(data) < 300_000  # drawn (not blank), and small enough for Slack's preview


def test_weeks_with_nothing_counted_and_no_tickets_still_draw() -> None:
    empty = sla_chart(weeks(2, attainment=None, opened=0), ["a", "b"], title="Quiet weeks")
    assert png_size(empty) == (int(WIDTH * DPI), int(HEIGHT * DPI))
    busy = sla_chart(weeks(2), ["a", "b"], title="Busy weeks")
    assert busy != empty  # the figures are what is drawn
