"""The demo storefront's account pages in real headless Chromium against `make local`: sign-up,
the mail's link, verification, login, a password change that ends another session, and a reset.

The server (conftest.py) writes its mail into a folder of its own and points the links at the
storefront (StorefrontUrl is the storefront's origin), so the browser opens the link as a customer would.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import (
    Shop,
    begin_sign_up,
    browser_cookies,
    chromium,
    confirm_address,
    fill,
    log_in_as,
    mail_link,
    state,
    submit,
    text,
    wait_for,
    wait_for_state,
)
from tests.mailbox import OTHER_STRONG, STRONG


def sign_up(driver: WebDriver, shop: Shop, mail: Path, address: str) -> None:
    """Sign up on the storefront, confirm the address through the mail's link with the sign-up's
    password ("Confirm and sign in"), then log out."""
    begin_sign_up(driver, shop, address)
    link = mail_link(mail, address, "/verify-email")
    assert link.startswith(f"{shop.storefront}/verify-email?key="), link
    confirm_address(driver, link, address, OTHER_STRONG)
    wait_for(lambda: text(driver, "error"), "the refusal of another password")
    assert (state(driver), text(driver, "error")) == ("confirm", "This is not the password this link was sent for.")
    confirm_address(driver, link, address, STRONG)  # the refused attempt spent nothing
    wait_for_state(driver, "signed-in")
    assert text(driver, "profile-email") == address
    assert driver.current_url == f"{shop.storefront}/", "the used link left the address bar"
    driver.find_element(By.ID, "logout").click()
    wait_for_state(driver, "signed-out")


def refresh_cookie_value(driver: WebDriver) -> str | None:
    return next((cookie["value"] for cookie in browser_cookies(driver) if cookie["name"] == "refresh_token"), None)


def test_given_the_storefront_when_a_customer_signs_up_verifies_and_changes_the_password_then_only_this_session_goes_on(
    accounts_shop: Shop, mail_folder: Path
) -> None:
    address = f"shopper-{uuid.uuid4().hex[:8]}@example.com"
    with chromium() as browser, chromium() as other_browser:
        sign_up(browser, accounts_shop, mail_folder, address)

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


def test_given_a_forgotten_password_when_the_customer_follows_the_reset_mail_then_the_new_password_logs_in(
    accounts_shop: Shop, mail_folder: Path
) -> None:
    address = f"forgetful-{uuid.uuid4().hex[:8]}@example.com"
    with chromium() as browser:
        sign_up(browser, accounts_shop, mail_folder, address)

        browser.find_element(By.CSS_SELECTOR, "#login [data-go=forgot]").click()
        fill(browser, {"forgot-email": address})
        submit(browser, "forgot")
        wait_for_state(browser, "check-mail")
        assert not browser.find_element(By.ID, "check-mail-resend").is_displayed(), "a confirmation mail is a sign-up's"
        link = mail_link(mail_folder, address, "/reset-password")
        assert link.startswith(f"{accounts_shop.storefront}/reset-password?uid="), link
        browser.get(link)
        wait_for_state(browser, "reset")
        fill(browser, {"reset-password1": OTHER_STRONG, "reset-password2": OTHER_STRONG})
        submit(browser, "reset")
        wait_for(lambda: text(browser, "notice"), "the reset's answer")
        assert (state(browser), text(browser, "notice")) == (
            "signed-out",
            "Your password has been reset; please log in.",
        )

        log_in_as(browser, accounts_shop.storefront, address, OTHER_STRONG)
        assert text(browser, "profile-email") == address
