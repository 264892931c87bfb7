"""Init without the cyclic garbage collector: import this module first, ``resume`` at the end of init.

A cold start's init allocates about a hundred thousand objects (modules, classes, botocore's
service models) that live as long as the container; the collector's passes over them during
the imports find nothing to free and cost about a tenth of a token function's init CPU
(bench/README.md, §7). They all stay in the youngest generation while collection is off, so
turning it back on alone would make the next allocation scan every one of them (~37 ms CPU
in the refresh function's init). ``resume`` therefore freezes them first (``gc.freeze``: moved
to a generation no collection scans) and then turns collection on; what init left as garbage
(a few hundred objects, ~0.1 MB) is never freed. Only the first ``resume`` of a process
freezes: a later one (SnapStart's restore, a test building another container) finds
collection on and leaves everything as it is, so a process that builds many containers
freezes once.
"""

import gc

gc.disable()


def resume() -> None:
    """End of init: what init made is frozen, and collection resumes."""
    if gc.isenabled():
        return
    gc.freeze()
    gc.enable()
