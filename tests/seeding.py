"""Many tickets at once, straight into the table (for volume tests and bench/home.py: filing thousands
through open_ticket would measure intake, not the Home)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Ticket


def seed_open_tickets(session: Session, count: int, *, level: str, now: datetime, reporter: str = "U0SEED",
                      status: str = "open", spread: timedelta = timedelta(hours=8), sla: timedelta = timedelta(hours=1),
                      **columns: Any) -> None:
    """`count` tickets at `level`, filed over the `spread` before `now` (the oldest breached first)."""
    step = spread / max(count, 1)
    rows = []
    for n in range(count):
        created = now - spread + step * n
        rows.append({
            "title": f"Seeded ticket {n}", "category": "Server and application troubleshooting", "severity": "high",
            "status": status, "level_key": level, "description": "Seeded for a volume test.", "error_messages": "none",
            "troubleshooting": "none", "business_impact": "Seeded: nobody is affected.", "affected_users": 1,
            "links": [], "attachments": [], "triggers": [], "customer_executive": False, "regulatory": False,
            "reporter_id": reporter, "created_at": created, "level_entered_at": created,
            "response_sla_seconds": int(sla.total_seconds()), "response_due_at": created + sla, "handoffs": 0, **columns,
        })
    for start in range(0, len(rows), 1000):
        session.execute(insert(Ticket), rows[start:start + 1000])
