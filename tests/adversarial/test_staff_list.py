"""``GET /api/v1/customers/`` as DRF's PageNumberPagination answers it, through the template's gateway.

Newest first, ``STAFF_PAGE_SIZE`` a page (2 here), absolute ``next`` / ``previous`` links with
the query sorted by name as DRF's ``replace_query_param`` writes it, ``?page=last``, 404
"Invalid page." for anything else out of range, and ``?email=`` in any case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shared import services
from shared.customers.record import Customer
from tests.adversarial.stack import Stack, warm_stack
from tests.helpers import EMAIL, REGION, TABLE_NAME, HttpAnswer
from tools import authctl

HOST = "abc123def4.execute-api.us-east-1.amazonaws.com"
URL = f"https://{HOST}/api/v1/customers/"
INVALID_PAGE = {"detail": "Invalid page."}


@pytest.fixture(scope="module")
def listed() -> Iterator[tuple[Stack, str, list[Customer]]]:
    """A stack with five customers: the demo customer "1", a staff member and three more."""
    # RequireStaffMfa off: the list is under test, not the second factor (test_staff_permissions has both).
    with warm_stack(STAFF_PAGE_SIZE="2", REQUIRE_STAFF_MFA="false") as stack:
        staff = stack.new_customer()
        services.customer_store().set_roles(staff, True, False, (), revoke_at=0.0)
        others = [stack.new_customer() for _ in range(3)]
        authorization = f"Bearer {stack.login(staff)['access']}"
        newest_first = [*reversed(others), staff]
        yield stack, authorization, newest_first


def page(listed: tuple[Stack, str, list[Customer]], **query: Any) -> HttpAnswer:
    stack, authorization, _ = listed
    values = {name: value if isinstance(value, list) else [value] for name, value in query.items()}
    headers = {"Host": HOST, "X-Forwarded-Proto": "https"}
    return stack.request("GET", "/api/v1/customers/", authorization=authorization, query=values, headers=headers)


def ids(answer: HttpAnswer) -> list[int]:
    return [customer["id"] for customer in answer.body["results"]]


def test_the_first_page_is_the_newest_customers_with_the_count_and_a_next_link(listed: Any) -> None:
    _, _, newest = listed

    answer = page(listed)

    assert answer.status == 200
    assert list(answer.body) == ["count", "next", "previous", "results"]
    assert answer.body["count"] == 5
    assert ids(answer) == [int(customer.customer_id) for customer in newest[:2]]
    assert (answer.body["next"], answer.body["previous"]) == (f"{URL}?page=2", None)
    assert list(answer.body["results"][0]) == ["id", "email", "is_active", "last_login", "date_joined"]


def test_the_pages_walk_every_customer_once_newest_first(listed: Any) -> None:
    _, _, newest = listed

    pages = [page(listed, page=str(number)) for number in (1, 2, 3)]

    walked = [customer_id for answer in pages for customer_id in ids(answer)]
    assert walked == [*(int(customer.customer_id) for customer in newest), 1]
    assert (pages[1].body["previous"], pages[1].body["next"]) == (URL, f"{URL}?page=3")
    assert (pages[2].body["previous"], pages[2].body["next"]) == (f"{URL}?page=2", None)


def test_last_is_the_last_page_and_the_other_query_parameters_stay_sorted_by_name(listed: Any) -> None:
    answer = page(listed, page="last", zeta="z", alpha="a")

    assert ids(answer) == [1]
    assert answer.body["previous"] == f"{URL}?alpha=a&page=2&zeta=z"


@pytest.mark.parametrize("number", ["0", "4", "-1", "abc", "1.0", ""])
def test_a_page_out_of_range_or_not_a_number_is_drfs_invalid_page(listed: Any, number: str) -> None:
    answer = page(listed, page=number)

    assert (answer.status, answer.body) == (404, INVALID_PAGE)


def test_a_repeated_page_parameter_reads_its_last_value(listed: Any) -> None:
    assert ids(page(listed, page=["3", "2"])) == ids(page(listed, page="2"))


def test_the_email_filter_finds_the_customer_in_any_case_and_nobody_else(listed: Any) -> None:
    found = page(listed, email=EMAIL.upper())
    nobody = page(listed, email="nobody@example.com")

    assert (found.body["count"], ids(found), found.body["next"]) == (1, [1], None)
    assert (nobody.status, nobody.body) == (200, {"count": 0, "next": None, "previous": None, "results": []})


def test_without_a_host_the_links_are_the_absolute_path(listed: Any) -> None:
    stack, authorization, _ = listed

    answer = stack.request("GET", "/api/v1/customers/", authorization=authorization)

    assert answer.body["next"] == "/api/v1/customers/?page=2"


def test_a_customer_from_before_the_list_is_listed_after_authctl_index_customers(
    listed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    client.update_item(TableName=TABLE_NAME, Key={"pk": {"S": "CUSTOMER#1"}}, UpdateExpression="REMOVE listing, joined")
    before = page(listed).body["count"]
    capsys.readouterr()

    code = authctl.main(["--table", TABLE_NAME, "index-customers"])
    report = json.loads(capsys.readouterr().out.splitlines()[-1])

    assert (before, code, report) == (4, 0, {"indexed": 5})
    assert page(listed, page="last").body["results"][-1]["id"] == 1
