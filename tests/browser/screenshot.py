"""The README's screenshot of the demo storefront, taken as the browser tests drive it.

.venv/bin/python -m tests.browser.screenshot docs/storefront.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.browser.chromium import chromium, log_in, shop


def main(target: str) -> None:
    with shop() as running, chromium() as driver:
        log_in(driver, running.storefront)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(target)
    print(target)


if __name__ == "__main__":
    main(sys.argv[1])
