"""shared/collector.py: only the end of a process's first init freezes what it made."""

import gc

from shared import collector


def test_given_collection_already_on_then_resume_freezes_nothing_more() -> None:
    gc.enable()  # a container built after the first (SnapStart's restore, another test's)
    frozen = gc.get_freeze_count()

    collector.resume()

    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, True)
