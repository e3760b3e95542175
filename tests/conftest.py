"""The suite's order: the slow files first.

``./scripts/test.sh`` runs pytest-xdist with ``--dist loadfile --no-loadscope-reorder``: a file at a time per worker,
in collection order. With the files that build a wheel (``install``) or start Label Studio and the backend (``e2e``)
collected first, both workers start on long files and the many short ones fill in at the end, instead of one worker
finishing a long file alone while the other has nothing left to do.
"""

from __future__ import annotations

import pytest


def _rank(item: pytest.Item) -> int:
    if item.get_closest_marker("install"):
        return 0
    return 1 if item.get_closest_marker("e2e") else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: a file's tests stay together and in their order
