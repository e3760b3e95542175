from __future__ import annotations

import pytest

from labeling_config import LabelConfig, restaurant_config


@pytest.fixture(scope="session")
def config() -> LabelConfig:
    return restaurant_config()
