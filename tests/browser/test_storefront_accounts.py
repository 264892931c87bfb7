"""The demo storefront's account pages in real headless Chromium against `make local`: sign-up,
the mail's link, verification, login and a password change that ends another session.

The server writes its mail into this module's own folder and points the links at the storefront
(StorefrontUrl is the storefront's origin), so the browser opens the link as a customer would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import Shop, browser_cookies, chromium, shop, state, text, wait_for, wait_for_state
from tests.mailbox import OTHER_STRONG, STRONG, Sent, parse


@pytest.fixture(scope="module")
def mail_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def accounts_shop(mail_folder: Path) -> Iterator[Shop]:
    # No authorizer cache: the other session's next request meets the revocation at once.
    with shop("AuthorizerCacheSeconds=0", mail=mail_folder) as running:
        yield running


def mail_to(folder: Path, address: str) -> Sent:
    def delivered() -> list[Sent]:
        return [mail for mail in map(parse, (path.read_bytes() for path in folder.glob("*.eml"))) if mail.to == address]

    found: list[Sent] = wait_for(delivered, f"the mail to {address}")
    return found[-1]


def fill(driver: WebDriver, values: dict[str, str]) -> None:
    for element_id, value in values.items():
        field = driver.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)


def submit(driver: WebDriver, form_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()


def log_in_as(driver: WebDriver, storefront: str, email: str, password: str) -> None:
    driver.get(storefront)
    wait_for_state(driver, "signed-out")
    fill(driver, {"email": email, "password": password})
    submit(driver, "login")
    wait_for_state(driver, "signed-in")


def refresh_cookie_value(driver: WebDriver) -> str | None:
    return next((cookie["value"] for cookie in browser_cookies(driver) if cookie["name"] == "refresh_token"), None)


def test_given_the_storefront_when_a_customer_signs_up_verifies_and_changes_the_password_then_only_this_session_goes_on(
    accounts_shop: Shop, mail_folder: Path
) -> None:
    address = f"shopper-{uuid.uuid4().hex[:8]}@example.com"
    with chromium() as browser, chromium() as other_browser:
        browser.get(accounts_shop.storefront)
        wait_for_state(browser, "signed-out")
        browser.find_element(By.CSS_SELECTOR, "#login [data-go=signup]").click()
        fill(browser, {"signup-email": address, "signup-password1": STRONG, "signup-password2": STRONG})
        submit(browser, "signup")
        wait_for_state(browser, "check-mail")
        assert text(browser, "check-mail-to") == address

        link = mail_to(mail_folder, address).link
        assert link is not None
        assert link.startswith(f"{accounts_shop.storefront}/verify-email?key="), link
        browser.get(link)
        wait_for(lambda: text(browser, "notice"), "the verification's answer")
        assert (state(browser), text(browser, "notice")) == ("signed-out", "Your address is confirmed; please log in.")
        assert browser.current_url == f"{accounts_shop.storefront}/", "the used link left the address bar"

        log_in_as(browser, accounts_shop.storefront, address, STRONG)
        assert text(browser, "profile-email") == address
        log_in_as(other_browser, accounts_shop.storefront, address, STRONG)
        cookie_before = refresh_cookie_value(browser)

        fill(browser, {"change-old": STRONG, "change-password1": OTHER_STRONG, "change-password2": OTHER_STRONG})
        submit(browser, "change")
        wait_for(lambda: text(browser, "notice") or text(browser, "error"), "the password change's answer")
        assert text(browser, "error") == ""
        assert text(browser, "notice") == "New password has been saved. Your other sessions have ended."
        assert state(browser) == "signed-in"
        cookie_after = refresh_cookie_value(browser)
        assert cookie_after not in (None, cookie_before), "the change's fresh refresh token replaced the cookie"

        other_browser.find_element(By.ID, "reload").click()
        wait_for_state(other_browser, "signed-out")
        assert text(other_browser, "error") == "Your session has ended; please log in again."
        assert refresh_cookie_value(other_browser) is None, "its refused cookie was cleared"

        browser.refresh()
        wait_for_state(browser, "signed-in")
        assert text(browser, "profile-email") == address, "this session goes on through the new cookie"
