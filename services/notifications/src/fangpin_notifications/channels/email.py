"""E-mail over SMTP (aiosmtplib): one message per delivery to every address of the unit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from fangpin_notifications.channels.base import ChannelError, Message
from fangpin_notifications.settings import NotificationsSettings


class EmailChannel:
    name = "email"
    idempotent = True  # Message-ID

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    def build(self, message: Message, addresses: Sequence[str]) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.smtp_sender
        mail["To"] = ", ".join(addresses)
        mail["Subject"] = message.title
        mail["Date"] = formatdate(localtime=False)
        # The delivery id: a mail system that sees the same message twice can tell.
        mail["Message-ID"] = f"<{message.delivery_id}@fangpin>"
        mail["X-Fangpin-Event"] = message.event_id
        mail.set_content(f"{message.unit_name}：\n\n{message.body}\n\n"
                         f"（本邮件由防贫监测提醒系统发送，请登录系统确认处理。）\n")
        return mail

    async def send(self, message: Message, addresses: Sequence[str],
                   secrets: Mapping[str, str], timeout: float) -> str:
        s = self.settings
        try:
            refused, reply = await aiosmtplib.send(
                self.build(message, addresses), hostname=s.smtp_host, port=s.smtp_port,
                username=s.smtp_username, password=s.smtp_password, use_tls=s.smtp_tls,
                start_tls=s.smtp_starttls, timeout=timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise ChannelError(
                "every recipient refused: " + "; ".join(
                    f"{r.recipient} {r.code} {r.message}" for r in exc.recipients),
                permanent=all(c >= 500 for c in codes), status=str(min(codes))) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise ChannelError(f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500,
                               status=str(exc.code)) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}", status="unreachable") from exc
        if refused:
            # Some addresses were refused, the rest took it: sent, and the log says which not.
            return "partly refused: " + "; ".join(f"{a} {r.code}" for a, r in refused.items())
        return reply[:50]
