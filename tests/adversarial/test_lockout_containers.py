"""Finding 1: concurrent wrong passwords from many containers never get past the lockout.

Ten obtain_token containers (OS processes, each with its own clients and cold start) send
three wrong passwords each for one account at the same moment, against one moto server.
The lock used to be read before hashing and the failure written after, so every attempt
that arrived before the fifth failure was written had its password checked (11 checks of 5
allowed on the reviewer's run). Each attempt is now counted before hashing.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from shared.customers.passwords import PasswordHasher
from shared.customers.store import CustomerStore
from shared.settings import Settings
from tests.adversarial.containers import dynamodb, moto_server, run_containers
from tests.helpers import EMAIL, PASSWORD, TABLE_NAME, json_event

CONTAINERS, ATTEMPTS_EACH, MAX_FAILURES = 10, 3, 5
LOCKED = {"detail": "Too many failed login attempts. Try again later.", "code": "throttled"}
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}


def login_event(password: str, source_ip: str) -> dict[str, Any]:
    event = json_event("obtain_token_ok", {"email": EMAIL, "password": password})
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    return event


def test_given_30_concurrent_wrong_passwords_from_10_containers_then_at_most_the_limit_are_checked() -> None:
    with moto_server() as environment:
        environment |= {"LOGIN_MAX_FAILURES": str(MAX_FAILURES), "LOGIN_IP_MAX_FAILURES": "1000"}
        settings = Settings.from_environ(environment)
        client = dynamodb(environment["AWS_ENDPOINT_URL_DYNAMODB"])
        CustomerStore(client, TABLE_NAME).create(EMAIL, PasswordHasher(settings).hash(PASSWORD), customer_id="1")
        events = [
            [login_event(f"wrong-{container}-{n}", f"10.0.{container}.{n}") for n in range(ATTEMPTS_EACH)]
            for container in range(CONTAINERS)
        ]

        answers = run_containers("obtain_token", environment, events)
        account = client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"FAIL#{EMAIL}"}})["Item"]

    statuses = Counter(answer["statusCode"] for answer in answers)
    assert statuses == {401: MAX_FAILURES, 429: CONTAINERS * ATTEMPTS_EACH - MAX_FAILURES}
    assert all(answer["body"] == (NO_ACCOUNT if answer["statusCode"] == 401 else LOCKED) for answer in answers)
    assert int(account["count"]["N"]) == MAX_FAILURES, "refused attempts are not counted"
    assert float(account["locked_until"]["N"]) > time.time(), "the account is locked"
