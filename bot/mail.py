"""The Mailer port on SMTP (smtplib): text + HTML parts, STARTTLS and login when configured."""

from __future__ import annotations

import hashlib
import smtplib
import socket
from email.message import EmailMessage
from email.utils import make_msgid

from bot.services.messages import Email

from bot.services.ports import MailFailed


class SmtpMailer:
    def __init__(self, host: str, port: int, *, sender: str, username: str | None = None, password: str | None = None,
                 starttls: bool = True, timeout: float = 10.0):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout

    def build(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = " ".join(email.subject.split())  # no header injection through CR/LF
        domain = self.sender.rpartition("@")[2] or "localhost"
        if email.message_key:  # the same mail, however often it is sent: receivers dedupe by Message-ID
            message["Message-ID"] = f"<{hashlib.sha256(email.message_key.encode()).hexdigest()[:32]}.escalation@{domain}>"
        else:
            message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def send(self, email: Email) -> None:
        """Send once; MailFailed(permanent=True) for refusals that retrying can't fix."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.ehlo()
                    if smtp.has_extn("starttls"):
                        smtp.starttls()
                        smtp.ehlo()
                    elif self.username:
                        raise MailFailed("server does not offer STARTTLS; refusing to send the password in clear", permanent=True)
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(self.build(email))
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailFailed(f"recipients refused: {', '.join(exc.recipients)}", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailFailed(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise MailFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')[:200]}",
                             permanent=500 <= exc.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise MailFailed(f"SMTP unavailable: {type(exc).__name__}: {exc}"[:300]) from None
