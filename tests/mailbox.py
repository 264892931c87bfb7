"""The account endpoints' test kit: their events, the mail queue drained through the mailer, SES's outbox.

Mail goes as deployed: the endpoint puts a job on the (moto) SQS queue, ``Mailbox.deliver``
hands the queued jobs to the real mailer handler as an SQS event, and the mailer sends
through (moto's) SES v2; the messages are read back from moto's SES backend as RFC 5322.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3

from tests.helpers import REGION, TEST_ENVIRONMENT, HttpAnswer, json_event

ACCOUNT_ID = "123456789012"
STRONG = "Quiet-Harbour-42"
OTHER_STRONG = "Lantern-Meadow-77"


@dataclass(frozen=True)
class Sent:
    to: str
    sender: str
    subject: str
    text: str
    html: str

    @property
    def link(self) -> str | None:
        return next((line for line in self.text.splitlines() if line.startswith(("http://", "https://"))), None)

    def query(self) -> dict[str, str]:
        assert self.link is not None, self.text
        return {name: values[0] for name, values in parse_qs(urlsplit(self.link).query).items()}


def sent_messages() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends[ACCOUNT_ID][REGION].sent_messages)


def parse(raw: str | bytes) -> Sent:
    message = message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    text, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert text is not None, "a plain-text part"
    assert html is not None, "an HTML part"
    return Sent(
        str(message["To"]), str(message["From"]), str(message["Subject"]), text.get_content(), html.get_content()
    )


class Mailbox:
    def __init__(self, load_handler: Callable[[str], ModuleType], lambda_context: Any) -> None:
        self._load_handler = load_handler
        self._context = lambda_context
        self._mailer: ModuleType | None = None
        self._seen = len(sent_messages())
        self._sqs = boto3.client("sqs", region_name=REGION)

    def queued(self) -> list[dict[str, Any]]:
        """Take every job off the queue (as the event source mapping does)."""
        url = TEST_ENVIRONMENT["MAIL_QUEUE_URL"]
        records = []
        while messages := self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                records.append({"messageId": message["MessageId"], "body": message["Body"], "eventSource": "aws:sqs"})
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return records

    def deliver(self) -> list[Sent]:
        """Run the mailer on the queued jobs; the messages it sent, in order."""
        records = self.queued()
        if records:
            if self._mailer is None:
                self._mailer = self._load_handler("mailer")
            answer = self._mailer.lambda_handler({"Records": records}, self._context)
            assert answer == {"batchItemFailures": []}
        new = sent_messages()[self._seen :]
        self._seen += len(new)
        return [parse(message.raw_data) for message in new]

    def one(self) -> Sent:
        delivered = self.deliver()
        assert len(delivered) == 1, [mail.subject for mail in delivered]
        return delivered[0]


def account_event(
    name: str, body: Any, *, caller: str | None = None, method: str = "POST", issued_at: int | None = None, **extra: Any
) -> Any:
    """``events/<name>.json`` carrying ``body``; ``caller`` is the authorizer's user_id (None: none),
    with an access token issued at ``issued_at`` (default: now)."""
    event = json_event(name, body, method=method)
    if "authorizer" in event["requestContext"]:
        if caller is None:
            del event["requestContext"]["authorizer"]
        else:
            iat = int(time.time()) if issued_at is None else issued_at
            event["requestContext"]["authorizer"].update(principalId=caller, user_id=caller, iat=iat)
    for header, value in extra.get("headers", {}).items():
        event["headers"][header] = value
        event["multiValueHeaders"][header] = [value]
    return event


def login(call: Callable[..., HttpAnswer], email: str, password: str) -> HttpAnswer:
    return call("obtain_token", json_event("obtain_token_ok", {"email": email, "password": password}))


def refresh(call: Callable[..., HttpAnswer], token: str) -> HttpAnswer:
    return call("refresh_token", json_event("refresh_token_ok", {"refresh": token}))


def register(call: Callable[..., HttpAnswer], email: str, password: str = STRONG, **body: Any) -> HttpAnswer:
    payload = {"email": email, "password1": password, "password2": password, **body}
    return call("register", json_event("register_ok", payload))
