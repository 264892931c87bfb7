"""Init without the cyclic garbage collector: import this module first, ``resume`` at the end of init.

A cold start's init allocates tens of thousands of objects (modules, classes, botocore's
service models) that live as long as the container; the collector's passes over them during
the imports find nothing to free and cost about a tenth of a token function's init CPU
(bench/README.md, §7). ``resume`` (called by ``services.warm_up``) turns it back on. Nothing is
frozen (``gc.freeze``): a process that builds many containers, as the tests do, would keep
every cycle made before each freeze for good.
"""

import gc

gc.disable()


def resume() -> None:
    """End of init: collection resumes."""
    gc.enable()
