"""The weekly SLA digest in the reports channel, and a report with its chart on demand by DM.

Both go through the outbox: the digest's two rows (figures, chart) are queued a week ahead, due at the
policy's slot, so a restart or a Slack outage over the slot delays them and loses nothing; their keys
name the slot, so two replicas (or two sweeps) queue and send each once. The figures are computed when
a row is sent, from the timeline as of the period's end, so both rows and any retry show the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.reports import Report
from bot.domain.schedule import next_weekly
from bot.services import reports
from bot.services.context import ServiceContext
from bot.services.messages import ReportMessage
from bot.services.ports import Once
from bot.services.queue import OutboxKind, Payload, enqueue

WEEK = timedelta(days=7)
MAX_WEEKS = 26


@dataclass(frozen=True)
class ReportPayload(Payload):
    """The weekly digest's slot (`until`); or a report asked for by `user`, its period and filters."""

    until: str
    user: str | None = None
    since: str | None = None
    filters: dict[str, str] | None = None
    period: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    def where(self) -> str:
        return self.user or "card"


def plan_weekly_digest(ctx: ServiceContext) -> datetime | None:
    """Queue the next slot's digest (idempotent per slot); returns the slot, or None when the policy
    names no reports channel. Called on every sweep: one INSERT … ON CONFLICT DO NOTHING."""
    policy = ctx.policy.reports
    if policy.channel is None:
        return None
    now = ctx.clock.now()
    slot = next_weekly(now, policy.weekday, policy.at, ctx.tz)
    with ctx.sessions.begin() as session:
        for kind in (OutboxKind.REPORT_POST, OutboxKind.REPORT_CHART):
            enqueue(session, key=f"weekly_report:{slot:%Y-%m-%dT%H:%M}Z:{kind}", kind=kind, ticket_id=None, now=now,
                    due=slot, payload=ReportPayload(until=slot.isoformat()))
    return slot


def request_report_chart(ctx: ServiceContext, report: Report, *, user: str, period: str, once: str) -> str:
    """Queue the chart of a report just shown to `user`, for their DM (`/escalate report … chart`): its
    period and filters, week by week. `once` names the command, so a re-sent copy queues nothing.
    Returns the outbox key, to relay it at once."""
    key = f"report_chart:{once}"
    with ctx.sessions.begin() as session:
        enqueue(session, key=key, kind=OutboxKind.REPORT_CHART, ticket_id=None, now=ctx.clock.now(),
                payload=ReportPayload(until=report.until.isoformat(), user=user, since=report.since.isoformat(),
                                      filters=dict(report.filters), period=period))
    return key


def weeks_for(span: timedelta) -> int:
    """How many weeks a chart of a period shows: the period's weeks, at least two, at most half a year."""
    return max(2, min(MAX_WEEKS, -(-span // WEEK)))


def _message(ctx: ServiceContext, payload: ReportPayload) -> ReportMessage | str:
    """What a row sends, computed now from the timeline; or why it is not sent (a str)."""
    until = datetime.fromisoformat(payload.until)
    if payload.user:
        since, filters = datetime.fromisoformat(payload.since or payload.until), dict(payload.filters or {})
        # Only the chart is sent by DM (the figures were the command's reply), so no period report is read.
        weeks = reports.weekly(ctx, weeks=weeks_for(until - since), until=until, **filters)
        title = f"SLA report, {_day(ctx, since)} to {_day(ctx, until - timedelta(seconds=1))}{_filtered(filters)}"
        return ReportMessage(None, tuple(weeks), _labels(ctx, weeks), title=title, period=payload.period or title,
                             user=payload.user)
    policy = ctx.policy.reports
    if policy.channel is None:
        return "the policy names no reports channel"
    if next_weekly(until - timedelta(seconds=1), policy.weekday, policy.at, ctx.tz) != until:
        return "the policy's weekly slot moved; the digest goes out at the new slot"
    weeks = reports.weekly(ctx, weeks=policy.weeks, until=until)
    week = f"week of {_day(ctx, weeks[-1].since)}"
    return ReportMessage(weeks[-1], tuple(weeks), _labels(ctx, weeks), title=f"SLA report, {week}", period=week,
                         channel=policy.channel)


def _day(ctx: ServiceContext, moment: datetime) -> str:
    return moment.astimezone(ctx.tz).strftime("%d %b %Y").lstrip("0")


def _labels(ctx: ServiceContext, weeks: list[Report]) -> tuple[str, ...]:
    return tuple(week.since.astimezone(ctx.tz).strftime("%d %b").lstrip("0") for week in weeks)


def _filtered(filters: dict[str, str]) -> str:
    return "".join(f" · {name} {value}" for name, value in sorted(filters.items()))


def send_report_post(ctx: ServiceContext, payload: ReportPayload, once: Once) -> str | None:
    """The outbox sender of the digest's figures."""
    return _send(ctx, payload, "weekly report not posted", lambda message: ctx.relay.post_report(message, once=once))


def send_report_chart(ctx: ServiceContext, payload: ReportPayload, once: Once) -> str | None:
    """The outbox sender of a chart: the digest's, to the reports channel; or one asked for, by DM."""
    return _send(ctx, payload, "report chart not sent", lambda message: ctx.relay.upload_chart(message, once=once))


def _send(ctx: ServiceContext, payload: ReportPayload, skipped: str, send: Callable[[ReportMessage], object]) -> str | None:
    """Send what the row stands for now; or log and return why it is not sent (the outbox records it as withheld)."""
    message = _message(ctx, payload)
    if isinstance(message, str):
        ctx.log.info("%s: %s", skipped, message)
        return message
    send(message)
    return None
