"""Account mail: the queue the API writes to, the wording, and the two ways of sending.

The account endpoints never send mail themselves: they put a job on an SQS queue
(``MailQueue``) and answer at once, so no answer waits on (or is timed by) the mail service.
The mailer function (functions/mailer) takes each job, does the account side of it
(shared/accounts/service.py: who the address belongs to, which link to make) and sends one message
with a plain-text and an HTML part:

- ``ses``: Amazon SES v2 ``SendEmail`` from ``MAIL_FROM``, the message as raw MIME (deployed;
  moto in tests);
- ``directory`` (`make local`): one RFC 5322 ``.eml`` file per message under
  ``MAIL_DIRECTORY``; the local server prints one line per file with its link, as Django's
  console backend prints a message (tools/local_server.py).

Jobs carry an address and, for a registration, the new password's argon2id hash (never a
password); the queue is encrypted at rest. Links and tokens are never logged. ``MailJob`` is
their one schema: the producers build it as a plain dict (typed here, so importing this module
costs the HTTP functions no pydantic at cold start) and the mailer validates each job against
the same types with Powertools' parser (pydantic) before doing it.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict

from aws_lambda_powertools import Logger

logger = Logger(child=True)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    link: str | None


class RegistrationJob(TypedDict):
    kind: Literal["registration"]
    email: str
    password_hash: str


class AddressJob(TypedDict):
    """A resend or a reset: the mailer finds out what the address is."""

    kind: Literal["resend", "reset"]
    email: str


MailJob = RegistrationJob | AddressJob


class Sender(Protocol):
    def send(self, mail: Mail) -> None: ...


class MailQueue:
    """Where the API functions leave mail jobs (one SendMessage each)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def put(self, job: MailJob) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(job))


class SesSender:
    def __init__(self, client: Any, mail_from: str) -> None:
        self._client = client
        self._from = mail_from

    def send(self, mail: Mail) -> None:
        """The same RFC 5322 message `make local` writes to a file, as SES v2 raw content."""
        self._client.send_email(
            FromEmailAddress=self._from,
            Destination={"ToAddresses": [mail.to]},
            Content={"Raw": {"Data": rfc5322(mail, self._from).as_bytes()}},
        )


class DirectorySender:
    """`make local`'s mail: files a person (or a browser test) can open."""

    def __init__(self, directory: Path, mail_from: str) -> None:
        self._directory = directory
        self._from = mail_from

    def send(self, mail: Mail) -> None:
        message = rfc5322(mail, self._from)
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message.as_bytes())


def rfc5322(mail: Mail, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or None)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def duration(seconds: int) -> str:
    """3 days, 1 hour, 30 minutes: how long a link lasts, in the mail's words."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _html(paragraphs: list[str], link: str | None, button: str) -> str:
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    if link:
        escaped = html.escape(link, quote=True)
        body += f'<p><a href="{escaped}">{html.escape(button)}</a></p><p>{escaped}</p>'
    return f'<!doctype html><html><body style="font-family: sans-serif">{body}</body></html>'


def _mail(to: str, subject: str, paragraphs: list[str], link: str | None, button: str, after: list[str]) -> Mail:
    text_parts = [*paragraphs, *([link] if link else []), *after]
    return Mail(to, subject, "\n\n".join(text_parts) + "\n", _html(paragraphs, link, button), link)


def confirm_address(to: str, link: str, lifetime: int) -> Mail:
    return _mail(
        to,
        "Confirm your email address",
        [
            f"Someone, hopefully you, signed up with {to}.",
            f"To finish creating your account, open this link within {duration(lifetime)}:",
        ],
        link,
        "Confirm my address",
        ["If you did not sign up, ignore this message."],
    )


def finish_signup(to: str, link: str, lifetime: int) -> Mail:
    """A resend: the address is confirmed by choosing the password (see AccountMailer.handle)."""
    return _mail(
        to,
        "Confirm your email address",
        [
            f"Someone, hopefully you, asked for a new confirmation link for {to}.",
            f"To confirm your address and finish creating your account, choose your password within "
            f"{duration(lifetime)}:",
        ],
        link,
        "Choose my password",
        ["If you did not sign up, ignore this message."],
    )


def already_registered(to: str, reset_link: str | None, lifetime: int) -> Mail:
    if reset_link:
        advice = f"If you have forgotten your password, choose a new one within {duration(lifetime)} here:"
    else:
        advice = "Your account is deactivated: please contact us to use it again."
    return _mail(
        to,
        "You already have an account",
        [f"Someone, hopefully you, tried to sign up with {to}, but you already have an account.", advice],
        reset_link,
        "Choose a new password",
        ["If this was not you, ignore this message: nothing has changed."],
    )


def reset_password(to: str, link: str, lifetime: int) -> Mail:
    return _mail(
        to,
        "Reset your password",
        [f"We received a request to reset the password of {to}.", f"Choose a new one within {duration(lifetime)}:"],
        link,
        "Choose a new password",
        ["If you did not ask for this, ignore this message: your password stays as it is."],
    )
