"""Requests an attacker (or a broken client) could send: entity-bomb label configs and floods of webhook events."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import BackendSettings
from tests.labeling_config.test_config import BILLION_LAUGHS, DECLARATION_HINT

BOMB_DETAIL = ("{where}: found a document type declaration <!DOCTYPE lolz>; expected a Label Studio config without "
               f"one (its entities are never expanded) ({DECLARATION_HINT})")


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(BackendSettings(models_dir=tmp_path / "models"))) as c:
        yield c


def test_setup_with_a_billion_laughs_schema_is_a_400_and_is_not_remembered(client):
    response = client.post("/setup", json={"project": "1.1700000000", "schema": BILLION_LAUGHS})
    assert (response.status_code, response.json()) == (400, {"detail": BOMB_DETAIL.format(where="setup schema")})
    assert client.app.state.configs.get("1") is None


def test_predict_with_a_billion_laughs_label_config_is_a_400(client):
    response = client.post("/predict", json={"tasks": [{"id": 1, "data": {"text": "pizza"}}],
                                             "label_config": BILLION_LAUGHS, "project": "1.1700000000"})
    assert (response.status_code, response.json()) == (
        400, {"detail": BOMB_DETAIL.format(where="field 'label_config'")})
