"""GET /orders: the calling customer's orders, behind API Gateway's native JWT authorizer.

API Gateway has already verified the access token (signature, exp, iss, aud) and hands its
claims to the function; the customer id is ecommerce-auth's ``user_id`` claim.
"""

import json
from typing import Any


def customer_id(event: dict[str, Any]) -> str:
    """The verified token's ``user_id`` (HTTP API payload 2.0, JWT authorizer)."""
    return str(event["requestContext"]["authorizer"]["jwt"]["claims"]["user_id"])


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    body = {"customer_id": customer_id(event), "orders": []}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
