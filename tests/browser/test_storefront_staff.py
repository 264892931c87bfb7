"""The storefront's staff page (/staff) in real headless Chromium against `make local`.

The demo customer is made staff with authctl against the server's own storage, as an operator
would; a second customer is the one acted on. The page lists customers newest first, finds one
by email, deactivates and activates them, ends their sessions and sends them a reset mail, each
through the staff routes; a customer who is not staff gets "Staff only".
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    Shop,
    chromium,
    fill,
    mails_to,
    state,
    submit,
    text,
    wait_for,
    wait_for_state,
)
from tests.local_api import free_port, local_api
from tools import authctl

OTHER_EMAIL = "shopper@example.com"
OTHER_PASSWORD = "Another-Secure-Pass-42"


@pytest.fixture(scope="module")
def staff_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shop, Path]]:
    """`make local` with its storefront; the demo customer staff, one more customer to act on."""
    mail = tmp_path_factory.mktemp("staff-mail")
    storefront_port, storage_port = free_port(), free_port()
    options = ("--storefront-port", str(storefront_port), "--mail-directory", str(mail))
    # RequireStaffMfa off: the staff page's tasks are under test; test_storefront_mfa walks the second step.
    with (
        local_api("RequireStaffMfa=false", options=options, storage_port=storage_port) as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in {
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{storage_port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        patch.delenv("TABLE_NAME", raising=False)
        patch.setattr("sys.stdin", io.StringIO(OTHER_PASSWORD + "\n"))
        assert authctl.main(["create-customer", "--email", OTHER_EMAIL, "--password-stdin"]) == 0
        assert authctl.main(["grant-staff", "--email", DEMO_EMAIL]) == 0
        api_port = url.rsplit(":", 1)[1]
        storefront = f"http://localhost:{storefront_port}"
        yield Shop(storefront, f"http://127.0.0.1:{storefront_port}", f"http://localhost:{api_port}"), mail


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def staff_log_in(driver: WebDriver, shop: Shop, email: str, password: str, wanted: str) -> None:
    driver.get(f"{shop.storefront}/staff")
    wait_for_state(driver, "signed-out")
    fill(driver, {"email": email, "password": password})
    submit(driver, "login")
    wait_for_state(driver, wanted)


# The table's cells, read in one script (the page redraws rows after each answer).
ROWS = "return [...document.querySelectorAll('#rows tr')].map((row) => [...row.cells].map((cell) => cell.textContent));"


def rows(driver: WebDriver) -> list[list[str]]:
    found: list[list[str]] = driver.execute_script(ROWS)
    return found


def emails(driver: WebDriver) -> list[str]:
    return [cells[1] for cells in rows(driver)]


def other_row(driver: WebDriver) -> list[str]:
    return rows(driver)[0][:3]


def do(driver: WebDriver, action: str) -> str:
    """Click ``action`` on the first row; the notice it leads to."""
    before = driver.find_element(By.ID, "notice").text
    driver.find_element(By.CSS_SELECTOR, f"#rows tr:first-child button[data-action={action}]").click()
    return str(wait_for(lambda: (notice := text(driver, "notice")) != before and notice, f"the notice of {action}"))


def test_given_staff_then_the_page_lists_finds_and_acts_on_customers(
    staff_shop: tuple[Shop, Path], browser: WebDriver
) -> None:
    shop, mail = staff_shop
    staff_log_in(browser, shop, DEMO_EMAIL, DEMO_PASSWORD, "staff")

    wait_for(lambda: emails(browser) == [OTHER_EMAIL, DEMO_EMAIL], "the customers, newest first")
    assert text(browser, "count") == "2 customers"

    fill(browser, {"search-email": OTHER_EMAIL.upper()})
    submit(browser, "search")
    wait_for(lambda: emails(browser) == [OTHER_EMAIL], "the customer found by email")

    assert do(browser, "deactivate") == f"{OTHER_EMAIL} is deactivated; their sessions have ended."
    wait_for(lambda: other_row(browser)[2] == "no", "the row to say inactive")
    assert do(browser, "activate") == f"{OTHER_EMAIL} is active again."
    wait_for(lambda: other_row(browser)[2] == "yes", "the row to say active")
    assert do(browser, "revoke-sessions") == f"Every session of {OTHER_EMAIL} has ended."
    assert do(browser, "password-reset") == f"A password reset mail is on its way to {OTHER_EMAIL}."
    wait_for(lambda: mails_to(mail, OTHER_EMAIL), "the reset mail")
    assert [sent.subject for sent in mails_to(mail, OTHER_EMAIL)] == ["Reset your password"]


def test_given_a_customer_who_is_not_staff_then_the_page_says_staff_only(
    staff_shop: tuple[Shop, Path], browser: WebDriver
) -> None:
    shop, _ = staff_shop

    staff_log_in(browser, shop, OTHER_EMAIL, OTHER_PASSWORD, "not-staff")

    assert state(browser) == "not-staff"
    assert browser.find_elements(By.CSS_SELECTOR, "#rows tr") == []
