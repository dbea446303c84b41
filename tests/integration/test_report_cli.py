"""`python -m bot report` on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set):
figures as text, the auditors' CSV read back with the csv module, and one-line errors."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.lifecycle import ResolutionForm
from bot.domain.severity import Severity
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import ServiceContext
from bot.services.intake import open_ticket
from bot.services.resolve import resolve_ticket
from tests.integration.recording import Groups, RecordingNotifier
from tests.integration.test_services import FORM
from tests.policies import open_seed_policy, open_seed_text

# Long past, so the command's own clock (the system's) is after every event and the figures are fixed.
T0 = datetime(2020, 3, 2, 9, 0, tzinfo=timezone.utc)
FIXED = ResolutionForm("Fixed the pool.", "A leak in the pool.", "Alert earlier.", None)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    """The command reads the environment as the bot does (and no .env: it runs in an empty directory)."""
    (tmp_path / "policy.yaml").write_text(open_seed_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("POLICY_FILE", str(tmp_path / "policy.yaml"))
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    return tmp_path


@pytest.fixture
def history(engine: Engine) -> dict[str, int]:
    clock = ManualClock(T0)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=open_seed_policy(), clock=clock, notifier=RecordingNotifier(), directory=Groups())
    a = open_ticket(ctx, replace(FORM, title="=HYPERLINK(\"http://evil\") payroll"), reporter_id="U0AGENT", intake_key=None).ticket_id
    b = open_ticket(ctx, replace(FORM, category="Security incidents and breaches", severity=Severity.CRITICAL),
                    reporter_id="U0AGENT", intake_key=None).ticket_id
    clock.advance(timedelta(minutes=5))
    acknowledge_ticket(ctx, b, actor_id="U0L3ENG")
    clock.advance(timedelta(minutes=25))
    acknowledge_ticket(ctx, a, actor_id="U0L2ENG")
    resolve_ticket(ctx, b, actor_id="U0L3ENG", form=replace(FIXED, postmortem_owner="U0L3ENG"))  # due in 5 days, never done
    clock.advance(timedelta(minutes=90))
    resolve_ticket(ctx, a, actor_id="U0L2ENG", form=FIXED)
    return {"A": a, "B": b}


def test_the_figures_print_as_text_and_the_csv_holds_every_event_of_the_periods_tickets(
        environment: Path, history: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    out = environment / "audit.csv"
    assert main(["report", "--since", "2020-03-01", "--until", "2020-03-31", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "SLA report 2020-03-01 to 2020-03-31 (Europe/Berlin; 2020-02-29 23:00 UTC to 2020-03-31 22:00 UTC)" in text  # Berlin is on summer time from 29 March
    l2 = text[text.index("L2 Technical Support"):text.index("L3 Engineering")]
    assert "Acknowledged:         1, MTTA 30m (median 30m)" in l2 and "Resolved:             1, MTTR 2h (median 2h)" in l2
    assert "SLA met:              100.0% (1 of 1)" in l2
    l3 = text[text.index("L3 Engineering"):text.index("All levels")]
    assert "MTTA 5m" in l3 and "Post-mortems:         0 done, 1 overdue" in l3
    assert "Opened:               2 tickets (2 stints)" in text[text.index("All levels"):]

    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["ticket", "title", "category", "severity", "level", "status", "at_utc", "actor", "event",
                             "source", "details"]
    assert {r["ticket"] for r in rows} == {"ESC-1", "ESC-2"} and f"Wrote {len(rows)} timeline events" in text
    first = [r for r in rows if r["ticket"] == "ESC-1"]
    assert [r["event"] for r in first][:2] == ["created", "routed"] and "resolved" in [r["event"] for r in first]
    assert first[0]["title"].startswith("'=HYPERLINK")  # a formula a spreadsheet would run is defused
    assert (first[0]["severity"], first[0]["level"], first[0]["status"]) == ("high", "L2", "closed")
    assert first[0]["at_utc"] == "2020-03-02T09:00:00+00:00" and first[0]["actor"] == "U0AGENT"
    assert '"level": "L2"' in first[1]["details"]


def test_a_level_keeps_its_figures_and_its_tickets(environment: Path, history: dict[str, int],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = environment / "l3.csv"
    assert main(["report", "--since", "2020-03-01", "--until", "2020-03-31", "--level", "l3", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "level L3" in text and "L2 Technical Support" not in text
    with out.open(newline="", encoding="utf-8") as f:
        assert {r["ticket"] for r in csv.DictReader(f)} == {"ESC-2"}


def test_a_period_without_events_writes_only_the_header(environment: Path, history: dict[str, int],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = environment / "empty.csv"
    assert main(["report", "--since", "2020-04-01", "--until", "2020-04-30", "--csv", str(out)]) == 0
    assert "Opened:               0 tickets" in capsys.readouterr().out
    with out.open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [["ticket", "title", "category", "severity", "level", "status", "at_utc", "actor",
                                        "event", "source", "details"]]


@pytest.mark.parametrize(("argv", "message"), [
    (["report", "--since", "2020-02-30", "--until", "2020-03-31"], "argument --since: '2020-02-30' is not a date like 2026-11-30"),
    (["report", "--since", "2020-03-01"], "the following arguments are required: --until"),
    (["report", "--since", "2020-03-02", "--until", "2020-03-01"], "--until 2020-03-01 is before --since 2020-03-02"),
    (["report", "--since", "2020-03-01", "--until", "2020-03-31", "--level", "L9"], "There is no level 'L9'"),
])
def test_a_bad_argument_exits_non_zero_with_one_line(environment: Path, history: dict[str, int], argv: list[str],
                                                     message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err


def test_a_wrong_setting_is_named_in_one_line(environment: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{environment / 'missing.db'}")
    assert main(["report", "--since", "2020-03-01", "--until", "2020-03-31"]) == 2
    assert capsys.readouterr().err.strip().startswith("Configuration error: DATABASE_URL names no database file")
    assert not (environment / "missing.db").exists()
    monkeypatch.setenv("DATABASE_URL", "mysql://db/x")
    assert main(["report", "--since", "2020-03-01", "--until", "2020-03-31"]) == 2
    assert capsys.readouterr().err.strip() == "Configuration error: DATABASE_URL must be a sqlite:/// or postgresql:// URL"
    monkeypatch.setenv("POLICY_FILE", str(environment / "nowhere.yaml"))
    monkeypatch.delenv("DATABASE_URL")
    assert main(["report", "--since", "2020-03-01", "--until", "2020-03-31"]) == 2
    assert "nowhere.yaml" in capsys.readouterr().err
