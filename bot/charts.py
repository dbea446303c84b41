"""The weekly digest's chart: SLA attainment per level week by week, and volume by level, as a PNG.

Rendered headless with matplotlib's Agg canvas and its object API (no pyplot: no global figure state,
so two relay threads can draw at once). Imported lazily: matplotlib costs the bot's start-up nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.domain.reports import Report

WIDTH, HEIGHT, DPI = 10.0, 6.5, 100  # inches at 100 dpi: 1000 × 650 px, readable in Slack's preview
COLOURS = ("#1264a3", "#2bac76", "#e8912d", "#cd2553", "#7c3085", "#616061")


def sla_chart(weeks: Sequence[Report], labels: Sequence[str], *, title: str) -> bytes:
    """Two panels over the same weeks (oldest first, one label each): attainment % per level (a gap where
    nothing was counted), and tickets opened per level (stacked bars). Returns PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    levels = [(figures.level, figures.title) for figures in weeks[-1].levels] if weeks else []
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    attainment, volume = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 2)})
    figure.suptitle(title, fontsize=14)
    x = list(range(len(weeks)))
    bottoms = [0] * len(weeks)
    for index, (key, name) in enumerate(levels):
        colour = COLOURS[index % len(COLOURS)]
        rows = [next((f for f in week.levels if f.level == key), None) for week in weeks]
        shares = [f.attainment * 100 if f is not None and f.attainment is not None else float("nan") for f in rows]
        attainment.plot(x, shares, marker="o", color=colour, label=name)
        opened = [f.opened if f is not None else 0 for f in rows]
        volume.bar(x, opened, bottom=bottoms, color=colour, label=name, width=0.6)
        bottoms = [b + o for b, o in zip(bottoms, opened)]
    attainment.set_ylim(0, 105)
    attainment.set_ylabel("Acknowledged within SLA (%)")
    attainment.grid(axis="y", alpha=0.3)
    if levels:
        attainment.legend(loc="lower left", fontsize=9, ncols=min(len(levels), 3))
    volume.set_ylabel("Tickets opened")
    volume.grid(axis="y", alpha=0.3)
    volume.set_xticks(x, labels)
    volume.set_xlabel("Week starting")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
