"""tools/check_bundles.py probes each bundle as Lambda runs it: with the layers it always has."""

from __future__ import annotations

from pathlib import Path

from tools.check_bundles import layer_folders


def test_a_function_always_given_a_layer_is_probed_with_it_and_a_conditional_layer_is_left_off() -> None:
    folders = layer_folders(Path("build"))

    assert folders["MfaFunction"] == [str(Path("build/CryptographyLayer/python"))]
    assert folders["SocialFunction"] == [str(Path("build/CryptographyLayer/python"))]
    assert "ObtainTokenFunction" not in folders  # its layer only on an asymmetric stack
