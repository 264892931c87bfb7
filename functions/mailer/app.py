"""The mail queue's consumer: each job becomes at most one message (SES, or files locally).

Powertools' batch utility runs the jobs of one SQS batch; a job that fails is reported back
(``ReportBatchItemFailures``) so SQS retries only that one, never the whole batch. Each body
is parsed with Powertools' parser against ``shared.accounts.mail.MailJob``, the schema the account
functions build. A job that does not parse is a failure too, not dropped: it can only come
from a producer and a mailer that disagree (a deploy half done), so after the queue's
maxReceiveCount it waits in the dead-letter queue, whose alarm tells someone, to be redriven
once they agree, rather than a customer's mail being lost without a trace.
"""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, Json, ValidationError

from shared.accounts.mail import MailJob
from shared.services import account_mailer

logger = Logger()
metrics = Metrics()
mailer = account_mailer()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class MailJobMessage(BaseModel):
    """The part of an SQS record the mailer reads: its body, a JSON ``MailJob``."""

    body: Json[Annotated[MailJob, Field(discriminator="kind")]]


class MalformedJob(ValueError):
    """A job off the schema, named by its errors' places and kinds only: pydantic's own message
    quotes the input, which may hold an address and a password hash, and must not be logged."""

    def __init__(self, error: ValidationError) -> None:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        super().__init__("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['type']}" for p in problems))


def job_of(record: SQSRecord) -> MailJob:
    try:
        return parse(event=record.raw_event, model=MailJobMessage).body
    except ValidationError as error:
        raise MalformedJob(error) from None


def send_one(record: SQSRecord) -> None:
    metrics.add_metric(name="MailJobs", unit=MetricUnit.Count, value=1)
    try:
        sent = mailer.handle(job_of(record))
    except Exception as error:
        logger.exception("mail job failed", extra={"error_type": type(error).__name__})
        metrics.add_metric(name="MailFailures", unit=MetricUnit.Count, value=1)
        raise
    logger.info("mail job done", extra={"sent": sent})
    if sent not in ("nothing", "capped"):
        metrics.add_metric(name="MailsSent", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=send_one, processor=processor, context=context)
