"""Init without the cyclic garbage collector: import this module first, ``resume`` at the end of init.

A cold start's init allocates tens of thousands of objects (modules, classes, botocore's
service models) that live as long as the container; the collector's passes over them during
the imports find nothing to free and cost about a tenth of a token function's init CPU
(bench/README.md, §7). ``resume`` (called by ``services.warm_up``) moves everything init made
into the permanent generation (``gc.freeze``), so warm invocations' collections skip it too,
and turns the collector back on.
"""

import gc

gc.disable()


def resume() -> None:
    """End of init: what init made is frozen out of later collections, and collection resumes."""
    gc.freeze()
    gc.enable()
