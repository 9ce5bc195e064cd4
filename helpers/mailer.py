"""Order emails: a proper MIME message sent with aiosmtplib (STARTTLS by default)."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib


class MailRejected(Exception):
    """The server refused for good (5xx): retrying will not help."""


def build_message(sender: str, to: str, subject: str, html_body: str, text_body: str):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    # quoted-printable keeps every line under the SMTP limit of 998 characters.
    message.set_content(text_body, cte="quoted-printable")
    message.add_alternative(html_body, subtype="html", cte="quoted-printable")
    return message


class Mailer:
    def __init__(self, settings):
        self.settings = settings
        # Loading the CA store takes tens of milliseconds: once here, not per email on the loop.
        self.tls_context = (
            ssl.create_default_context() if settings.SMTP_SECURITY != "none" else None
        )

    async def send(self, to: str, subject: str, html_body: str, text_body: str) -> None:
        settings = self.settings
        message = build_message(settings.EMAIL_FROM, to, subject, html_body, text_body)
        security = settings.SMTP_SECURITY
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.SMTP_HOST,
                port=settings.SMTP_PORT,
                username=settings.SMTP_USERNAME or None,
                password=settings.SMTP_PASSWORD or None,
                use_tls=security == "tls",
                start_tls=security == "starttls",
                tls_context=self.tls_context,
                timeout=settings.SMTP_TIMEOUT_S,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if exc.recipients and all(500 <= r.code < 600 for r in exc.recipients):
                refused = exc.recipients[0]
                raise MailRejected(f"{refused.code} {refused.message}") from None
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise MailRejected(f"{exc.code} {exc.message}") from None
            raise
