"""How big the suite's long runs are: quick for ``make test``, long for ``make test-long``.

One switch, ``HYPOTHESIS_PROFILE``: ``ci`` (the default) or ``long``. It picks the hypothesis
profile (registered in ``tests/conftest.py``) and the default of every size below; each size
can also be set on its own through its environment variable. The quick sizes still run the same
code paths, races included; the long ones explore further (docs/testing.md).
"""

import os

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or "ci"
LONG = PROFILE == "long"


def size(variable: str, *, quick: int, long: int) -> int:
    """``variable`` from the environment when set, else the profile's default."""
    value = os.environ.get(variable)
    return int(value) if value else (long if LONG else quick)


def examples(*, quick: int, long: int) -> int:
    """Hypothesis examples for a test whose examples cost more (or less) than the profile's."""
    return long if LONG else quick
