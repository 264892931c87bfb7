"""The mail queue's consumer: each job becomes at most one message (SES, or files locally).

A job that fails is reported back (ReportBatchItemFailures) so SQS retries only that one;
after the queue's maxReceiveCount it lands in the dead-letter queue, which has an alarm.
"""

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import account_mailer

logger = Logger()
metrics = Metrics()
mailer = account_mailer()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        metrics.add_metric(name="MailJobs", unit=MetricUnit.Count, value=1)
        try:
            sent = mailer.handle(json.loads(record["body"]))
        except Exception as error:
            logger.exception("mail job failed", extra={"error_type": type(error).__name__})
            metrics.add_metric(name="MailFailures", unit=MetricUnit.Count, value=1)
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        logger.info("mail job done", extra={"sent": sent})
        if sent != "nothing":
            metrics.add_metric(name="MailsSent", unit=MetricUnit.Count, value=1)
    return {"batchItemFailures": failures}
