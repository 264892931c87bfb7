"""The storefront's "Didn't get the mail? Send it again" in real headless Chromium against `make local`.

A resend (docs/account-contract.md, POST /auth/registration/resend-email/) answers the same for
every address and mails an address awaiting confirmation a link to choose the password, which
confirms it: never a key for the pending password, which may be a squatter's. The sign-up's own
key stays valid until the address is confirmed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from shared.settings import Settings
from tests.browser.chromium import (
    Shop,
    begin_sign_up,
    chromium,
    confirm_address,
    fill,
    log_in_as,
    mails_to,
    state,
    submit,
    text,
    wait_for,
    wait_for_state,
)
from tests.mailbox import OTHER_STRONG, STRONG, Sent

REFUSED = ("", "No active account found with the given credentials")
THROTTLED = "Too many mails were asked for; please wait a few minutes and try again."


def default_setting(name: str) -> int:
    value = getattr(Settings(), name)
    assert isinstance(value, int), name
    return value


# The server's defaults: requests per address in a fixed window, the registration included.
ADDRESS_LIMIT = default_setting("ACCOUNT_ADDRESS_LIMIT")
LIMIT_WINDOW = default_setting("ACCOUNT_LIMIT_WINDOW")


def resent(address: str) -> str:
    """The page's neutral answer: the same whether the address awaits confirmation, is confirmed or unknown."""
    return (
        f"If {address} awaits confirmation, a new mail is on its way: "
        "its link confirms the address once you choose your password."
    )


def new_address(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:8]}@example.com"


def click(driver: WebDriver, element_id: str) -> None:
    driver.find_element(By.ID, element_id).click()


def answer(driver: WebDriver) -> tuple[str, str]:
    """The page's notice and error once one of them shows."""
    wait_for(lambda: text(driver, "notice") or text(driver, "error"), "the page's answer")
    return text(driver, "notice"), text(driver, "error")


def mails(folder: Path, address: str, count: int) -> list[Sent]:
    """The ``count`` mails to ``address``, oldest first, once the server has filed them."""
    wait_for(lambda: len(mails_to(folder, address)) >= count, f"{count} mails to {address}")
    filed = mails_to(folder, address)
    assert len(filed) == count, [mail.subject for mail in filed]
    return filed


def clear_answer(driver: WebDriver) -> None:
    """Forget the last notice and error, so that the next answer() is the next action's."""
    driver.execute_script("for (const id of ['notice', 'error']) document.getElementById(id).textContent = ''")


def resend(driver: WebDriver, button_id: str) -> tuple[str, str]:
    clear_answer(driver)
    click(driver, button_id)
    return answer(driver)


def assert_first_and_resent_mails(shop: Shop, first: Sent, newest: Sent) -> None:
    """docs/account-contract.md, "Mail": the sign-up's key, then the resend's choose-the-password link."""
    assert first.subject == newest.subject == "Confirm your email address"
    assert str(first.link).startswith(f"{shop.storefront}/verify-email?key="), first.link
    assert str(newest.link).startswith(f"{shop.storefront}/reset-password?uid="), newest.link
    assert set(newest.query()) == {"uid", "token"}
    assert "/verify-email" not in newest.text + newest.html, "a resend never mails a key for the pending password"
    assert "choose your password within 1 hour" in newest.text
    assert newest.link != first.link


def attempt_login(driver: WebDriver, email: str, password: str) -> tuple[str, str]:
    """Submit the login form that is shown; the page's notice and error afterwards."""
    fill(driver, {"email": email, "password": password})
    clear_answer(driver)
    submit(driver, "login")
    return answer(driver)


def choose_password(driver: WebDriver, mail: Sent, password: str) -> tuple[str, str]:
    """Follow the mail's link to the storefront's password page and save ``password`` there."""
    driver.get(str(mail.link))
    wait_for_state(driver, "reset")
    fill(driver, {"reset-password1": password, "reset-password2": password})
    submit(driver, "reset")
    return answer(driver)


def start_of_a_window_lasting(seconds: float) -> None:
    """Wait for the next limit window when this one ends sooner, so that every request counts in one."""
    left = LIMIT_WINDOW - time.time() % LIMIT_WINDOW
    if left < seconds:
        time.sleep(left + 1)


@dataclass(frozen=True)
class Pending:
    browser: WebDriver
    address: str


@pytest.fixture
def pending(accounts_shop: Shop) -> Iterator[Pending]:
    """A browser on the "check your mail" page of a new sign-up, early enough in a limit window for
    the sign-up and every resend of the test to count in the same one."""
    start_of_a_window_lasting(60)
    address = new_address("pending")
    with chromium() as browser:
        begin_sign_up(browser, accounts_shop, address)
        yield Pending(browser, address)


def test_given_a_sign_up_whose_mail_is_unopened_when_the_customer_asks_again_then_the_newest_mail_confirms_and_logs_in(
    pending: Pending, accounts_shop: Shop, mail_folder: Path
) -> None:
    browser, address = pending.browser, pending.address
    assert browser.find_element(By.ID, "check-mail-resend").text == "Didn't get the mail? Send it again"

    assert resend(browser, "check-mail-resend") == (resent(address), "")
    assert state(browser) == "check-mail"
    first, newest = mails(mail_folder, address, 2)
    assert_first_and_resent_mails(accounts_shop, first, newest)

    assert choose_password(browser, newest, OTHER_STRONG) == ("Your password has been reset; please log in.", "")

    clear_answer(browser)
    confirm_address(browser, str(first.link), address, STRONG)
    assert answer(browser) == ("", "This link does not work (Not found.)."), "a key after the address is confirmed"

    assert attempt_login(browser, address, STRONG) == REFUSED, "the chosen password replaced the sign-up's"
    log_in_as(browser, accounts_shop.storefront, address, OTHER_STRONG)
    assert text(browser, "profile-email") == address


def test_given_an_unverified_login_when_the_customer_asks_again_there_then_the_first_link_still_confirms(
    pending: Pending, accounts_shop: Shop, mail_folder: Path
) -> None:
    browser, address = pending.browser, pending.address
    browser.find_element(By.CSS_SELECTOR, "#check-mail [data-go=signed-out]").click()
    wait_for_state(browser, "signed-out")
    assert not browser.find_element(By.ID, "login-resend").is_displayed()
    assert attempt_login(browser, address, STRONG) == REFUSED, "no password logs in before the link"
    assert browser.find_element(By.ID, "login-resend").text == "Didn't get the mail? Send it again"

    unknown = new_address("unknown")
    fill(browser, {"email": unknown})
    assert resend(browser, "login-resend") == (resent(unknown), ""), "the same words for an address with no account"
    fill(browser, {"email": address})
    assert resend(browser, "login-resend") == (resent(address), "")
    assert browser.find_element(By.ID, "login-resend").is_displayed(), "it may be asked again"
    first, newest = mails(mail_folder, address, 2)
    assert_first_and_resent_mails(accounts_shop, first, newest)

    confirm_address(browser, str(first.link), address, STRONG)
    wait_for_state(browser, "signed-in")  # the sign-up's key outlives a resend
    assert text(browser, "profile-email") == address

    # Confirming the address changes what the resend's link is bound to (shared/accounts/service.py,
    # password_fingerprint): it no longer sets a password.
    assert choose_password(browser, newest, OTHER_STRONG) == ("", "Invalid value")
    assert mails_to(mail_folder, unknown) == []


def test_given_too_many_resends_for_one_address_when_the_customer_asks_again_then_the_page_says_to_wait(
    pending: Pending, mail_folder: Path
) -> None:
    browser, address = pending.browser, pending.address
    for _ in range(ADDRESS_LIMIT - 1):
        assert resend(browser, "check-mail-resend") == (resent(address), "")

    assert resend(browser, "check-mail-resend") == ("", THROTTLED)
    assert state(browser) == "check-mail"
    assert len(mails(mail_folder, address, ADDRESS_LIMIT)) == ADDRESS_LIMIT, "one per answered request"
