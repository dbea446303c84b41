"""The bot replica of bench/delivery.py: tests/replica.py (the real `app.build()` runtime on a shared
database, fake Slack and file clock) plus people's actions, and optionally the previous retry policy.

Extra command, one JSON object after it:
  act {"do": "open", "kind": "L1"|"L2"|"L3", "key": "..."}   file a ticket (the key is its intake key: sending
                                                             it again answers the same ticket), then announce it
  act {"do": "ack"|"update"|"escalate"|"resolve"|"postmortem", "ticket": 7, "actor": "U…"}
Each action then relays its ticket's messages, as the Slack handlers do after their ack. Answers
{"ticket": id} or {"error": "..."} (a DomainError: the bench's plan and the ticket disagreed).

BENCH_RETRY_POLICY=previous applies, in this process only, the retry policy from before issue 8:
retries after 1, 5, 15 minutes, 1 and 3 hours; no early probe of a backing-off Slack and no release of
the backoffs when it answers again; no in-doubt lookup (a post whose answer was lost is posted again).
The production code is not changed: four names in bot.services.outbox are replaced.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.intake import IntakeForm  # noqa: E402
from bot.domain.lifecycle import EscalationForm, ResolutionForm, UpdateForm  # noqa: E402
from bot.domain.severity import Severity  # noqa: E402
from bot.domain.tickets import DomainError  # noqa: E402
from bot.services import outbox  # noqa: E402
from bot.services.acknowledge import acknowledge_ticket  # noqa: E402
from bot.services.context import ServiceContext  # noqa: E402
from bot.services.escalate import escalate_ticket  # noqa: E402
from bot.services.intake import announce_ticket, open_ticket  # noqa: E402
from bot.services.outbox import relay_all  # noqa: E402
from bot.services.ports import Once  # noqa: E402
from bot.services.resolve import complete_postmortem, resolve_ticket  # noqa: E402
from bot.services.updates import post_update  # noqa: E402
from tests.replica import serve  # noqa: E402

PREVIOUS_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3))
REPORTER = "U0AGENT"

# One form per starting level: the category routes L1 and L2; a trigger sends L3 tickets there as critical.
FORMS = {
    "L1": IntakeForm(
        title="Outlook keeps asking for the password", category="Email and calendar problems", severity=Severity.MEDIUM,
        description="Outlook prompts for the password every few minutes since this morning.", error_messages="",
        links=(), attachments=(), troubleshooting="Cleared the credential cache and restarted Outlook.",
        business_impact="One person cannot read mail reliably.", affected_users=1, triggers=frozenset(),
        customer_executive=False, regulatory=False),
    "L2": IntakeForm(
        title="Payroll returns 502", category="Server and application troubleshooting", severity=Severity.HIGH,
        description="Payroll web app returns 502 for every request.", error_messages="502 Bad Gateway", links=(),
        attachments=(), troubleshooting="Restarted the app pool.", business_impact="Finance cannot run payroll today.",
        affected_users=40, triggers=frozenset(), customer_executive=False, regulatory=False),
    "L3": IntakeForm(
        title="Orders table lost rows", category="Database connectivity problems", severity=Severity.HIGH,
        description="Yesterday's orders are missing from the orders table.", error_messages="", links=(),
        attachments=(), troubleshooting="Checked the replication lag and the last backup.",
        business_impact="Orders cannot be shipped or invoiced.", affected_users=120, triggers=frozenset({"data_loss"}),
        customer_executive=False, regulatory=False),
}


def previous_retry_policy() -> None:
    """Before issue 8: fixed steps of minutes, nothing early, and a lost answer means post again."""
    outbox.backoff = lambda attempts, jitter: PREVIOUS_BACKOFF[min(attempts - 1, len(PREVIOUS_BACKOFF) - 1)]
    outbox._claim_probe = lambda session, now, worker: []  # noqa: SLF001 - the bench's switch, not the app's
    outbox._release_backoffs = lambda session, *, email, now: None  # noqa: SLF001
    outbox.Once = lambda key, in_doubt_since: Once(key, None)  # type: ignore[assignment, misc]


def act(ctx: ServiceContext, worker: str, arg: str) -> dict[str, object]:
    """One person's action, then its ticket's messages are relayed (as after the handler's ack)."""
    request = json.loads(arg)
    what, actor = request["do"], request.get("actor", "")
    now: datetime = ctx.clock.now()
    try:
        if what == "open":
            ticket = open_ticket(ctx, FORMS[request["kind"]], reporter_id=REPORTER, intake_key=request["key"]).ticket_id
            announce_ticket(ctx, ticket)
            return {"ticket": ticket}
        ticket = int(request["ticket"])
        if what == "ack":
            acknowledge_ticket(ctx, ticket, actor_id=actor)  # relays itself
        elif what == "update":
            post_update(ctx, ticket, actor_id=actor, relay=False, form=UpdateForm(
                "Still looking into it; the logs point at the upstream service.", "Check the upstream service.",
                now + timedelta(hours=1) if request.get("promise") else None))
        elif what == "escalate":
            escalate_ticket(ctx, ticket, actor_id=actor, relay=False, form=EscalationForm(
                "complexity", request["to"], "Finance cannot run payroll today.", "Restarted the app pool; no change.",
                "Needs someone with access to the servers."))
        elif what == "resolve":
            resolve_ticket(ctx, ticket, actor_id=actor, relay=False, form=ResolutionForm(
                "Restarted the failing service.", "A full disk on the application server.",
                "Alert on disk usage above 90%.", actor if request.get("postmortem") else None))
        elif what == "postmortem":
            complete_postmortem(ctx, ticket, actor_id=actor, url="https://docs.example.com/postmortem", relay=False)
        else:
            return {"error": f"unknown action {what!r}"}
    except DomainError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    relay_all(ctx, worker=worker, ticket_id=ticket)
    return {"ticket": ticket}


if __name__ == "__main__":
    if os.environ.get("BENCH_RETRY_POLICY") == "previous":
        previous_retry_policy()
    serve({"act": act})
