"""The settings model: environment strings converted and checked once, at start."""

from __future__ import annotations

import pytest

from shared.settings import Settings, SettingsError


def test_given_environment_strings_when_read_then_each_setting_has_its_type() -> None:
    settings = Settings.from_environ(
        {
            "ACCESS_TOKEN_LIFETIME": "600",
            "KEY_REFETCH_INTERVAL": "2.5",
            "ROTATE_REFRESH_TOKENS": "True",
            "UPDATE_LAST_LOGIN": "0",
            "ALGORITHM": "ES256",
            "AUDIENCE": "shop",
            "ISSUER": "",
            "UNRELATED": "ignored",
        }
    )

    assert settings.ACCESS_TOKEN_LIFETIME == 600
    assert settings.KEY_REFETCH_INTERVAL == 2.5
    assert (settings.ROTATE_REFRESH_TOKENS, settings.UPDATE_LAST_LOGIN) == (True, False)
    assert (settings.ALGORITHM, settings.legacy_algorithm) == ("ES256", "HS256")
    assert (settings.AUDIENCE, settings.ISSUER) == ("shop", None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ACCESS_TOKEN_LIFETIME", "0", "ACCESS_TOKEN_LIFETIME: must be > 0"),
        ("AUTHORIZER_CHECK_CACHE_SECONDS", "61", "AUTHORIZER_CHECK_CACHE_SECONDS: must be <= 60"),
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "65536", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: must be < 65536"),
        ("ARGON2_MEMORY_COST_KIB", "1024", "ARGON2_MEMORY_COST_KIB: must be >= 19456"),
        ("LEEWAY", "1.5", "LEEWAY: must be an integer"),
        ("AWS_READ_TIMEOUT", "soon", "AWS_READ_TIMEOUT: must be a number"),
        ("UPDATE_LAST_LOGIN", "maybe", "UPDATE_LAST_LOGIN: must be a boolean"),
        ("ALGORITHM", "none", "ALGORITHM: must be one of 'HS256'"),
    ],
)
def test_given_a_bad_value_when_read_then_the_function_stops_naming_the_setting(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_environ({name: value})


def test_given_the_session_token_when_the_settings_are_printed_then_it_is_not_shown() -> None:
    settings = Settings.from_environ({"AWS_SESSION_TOKEN": "very-secret-session-token"})

    assert "very-secret-session-token" not in repr(settings)
    assert settings.AWS_SESSION_TOKEN is not None
    assert settings.AWS_SESSION_TOKEN.get_secret_value() == "very-secret-session-token"
