"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and can refuse."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass
class SmtpSink:
    """aiosmtpd handler: records messages; `refuse_with` answers RCPT with that reply instead."""

    received: list[Received] = field(default_factory=list)
    refuse_with: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} e-mails, got {len(self.received)}")


class SmtpServer:
    """Start/stop a loopback SMTP server on a fixed free port (so a test can stop and restart it)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.sink = SmtpSink()
        self._controller: Controller | None = None

    def start(self) -> "SmtpServer":
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
