"""The storefront's passkeys in real headless Chromium against `make local`, with Chrome's virtual
authenticator (CTAP2, internal transport, resident keys, user verification): register a passkey
when logged in, sign in with it naming no account, delete it, and be refused after the delete.

The relying party is the storefront (`make local` sets StorefrontUrl to it: rp id ``localhost``);
py_webauthn checks every response the browser makes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import Shop, chromium, log_in, text, wait_for, wait_for_state


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Chromium with a platform authenticator that keeps discoverable credentials and verifies its user."""
    with chromium() as driver:
        driver.add_virtual_authenticator(
            VirtualAuthenticatorOptions(
                protocol=Protocol.CTAP2,
                transport=Transport.INTERNAL,
                has_resident_key=True,
                has_user_verification=True,
                is_user_verified=True,
            )
        )
        yield driver


def passkey_names(driver: WebDriver) -> list[str]:
    """The listed passkeys' ids, read in one script: the page redraws the list whole (after a
    sign-in, an add, a delete), so elements found one call earlier may be gone by the next."""
    script = "return [...document.querySelectorAll('#passkey-list li')].map((item) => item.dataset.id)"
    return [str(name) for name in driver.execute_script(script)]


def delete_first_passkey(driver: WebDriver) -> bool:
    """Click the first Delete; False when the list was redrawn under the click (try again)."""
    try:
        driver.find_element(By.CSS_SELECTOR, "#passkey-list li button").click()
    except StaleElementReferenceException:
        return False
    return True


def log_out(driver: WebDriver) -> None:
    driver.find_element(By.ID, "logout").click()
    wait_for_state(driver, "signed-out")


def sign_in_with_a_passkey(driver: WebDriver) -> None:
    driver.find_element(By.ID, "passkey-login").click()


def without_passkey_autofill(driver: WebDriver) -> None:
    """Make the page see a browser without conditional UI, so the button is its only passkey path.

    Chrome resolves a conditional request at once when a virtual authenticator holds a matching
    passkey, so with the autofill on, a log-out signs straight back in with no click."""
    driver.execute_script(
        "window.conditionalMediation = PublicKeyCredential.isConditionalMediationAvailable;"
        "PublicKeyCredential.isConditionalMediationAvailable = async () => false"
    )


def with_passkey_autofill(driver: WebDriver) -> None:
    driver.execute_script("PublicKeyCredential.isConditionalMediationAvailable = window.conditionalMediation")


def assert_signed_in_as_the_customer(driver: WebDriver) -> None:
    wait_for_state(driver, "signed-in")
    assert text(driver, "profile-email") == "customer@example.com"
    assert text(driver, "profile-id") == "1"
    wait_for(lambda: passkey_names(driver), "the list, emptied at the log-out, drawn again")


def test_given_a_registered_passkey_when_signing_in_with_it_then_no_email_is_needed_until_it_is_deleted(
    accounts_shop: Shop, browser: WebDriver
) -> None:
    log_in(browser, accounts_shop.storefront)
    assert browser.find_element(By.ID, "email").get_attribute("autocomplete") == "username webauthn"

    browser.find_element(By.ID, "passkey-name").send_keys("Virtual laptop")
    browser.find_element(By.CSS_SELECTOR, "#passkey-add button[type=submit]").click()
    wait_for(lambda: passkey_names(browser), "the new passkey in the list")
    [credential] = browser.get_credentials()
    assert credential.is_resident_credential
    assert passkey_names(browser) == [credential.id.rstrip("=")]  # Selenium pads its base64url
    assert "Virtual laptop" in text(browser, "passkey-list")

    # The button, in a browser without the autofill: no account named, the passkey names it.
    without_passkey_autofill(browser)
    log_out(browser)
    # Emptied without focusing the field, which would open the browser's passkey list over the button.
    browser.execute_script("document.getElementById('email').value = ''")
    sign_in_with_a_passkey(browser)
    assert_signed_in_as_the_customer(browser)

    # The autofill (conditional UI): the log-out's login form offers the passkey, and it signs in.
    with_passkey_autofill(browser)
    log_out(browser)
    assert_signed_in_as_the_customer(browser)

    wait_for(lambda: delete_first_passkey(browser), "a click on the passkey's Delete")
    wait_for(lambda: not passkey_names(browser), "the list without the deleted passkey")
    assert "deleted" in text(browser, "notice")

    # The authenticator still has it and the autofill offers it; the shop no longer knows it.
    browser.find_element(By.ID, "logout").click()
    wait_for(lambda: text(browser, "error"), "the refusal")
    assert text(browser, "error") == "This passkey could not sign you in."
    assert browser.execute_script("return document.body.dataset.state") == "signed-out"


def test_given_the_login_form_then_the_page_waits_on_the_passkey_autofill(
    accounts_shop: Shop, browser: WebDriver
) -> None:
    browser.get(accounts_shop.storefront)
    wait_for_state(browser, "signed-out")

    available = browser.execute_async_script(
        "const done = arguments[0]; PublicKeyCredential.isConditionalMediationAvailable().then(done)"
    )

    assert available is True
    assert wait_for(
        lambda: browser.execute_script(
            "return performance.getEntriesByType('resource')"
            ".some(entry => entry.name.endsWith('/auth/passkeys/login/options/'))"
        ),
        "the conditional request's options",
    )
