"""Secrets Manager rotation function for the signing-key secret (RotationSchedule)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import key_rotation

logger = Logger()
rotation = key_rotation()


@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    logger.info("rotation step", extra={"step": event["Step"]})
    rotation.step(event["Step"], event["SecretId"], event["ClientRequestToken"])
