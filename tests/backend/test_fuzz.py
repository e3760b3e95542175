"""Schemathesis against the app's own OpenAPI schema: whatever it sends, no response is a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from backend.app import create_app
from backend.settings import BackendSettings
from labeling_config.config import render_config

CONFIG = render_config(["Cuisine", "Dish", "Location"])


@pytest.fixture(scope="module")
def app(tmp_path_factory, template_round):
    import shutil

    models = tmp_path_factory.mktemp("fuzz") / "models"
    (models / "project-1").mkdir(parents=True)
    shutil.copytree(template_round, models / "project-1" / "round-0001")
    (models / "project-1" / "current").write_text("round-0001\n")
    application = create_app(BackendSettings(models_dir=models, round_command=["true"], retrain_every=1,
                                             log_dir=models.parent / "logs", max_text_chars=5000))
    pool = application.state.backend.pool
    pool.start()  # the ASGI transport does not run the lifespan
    pool.get("1", 30)
    yield application
    pool.stop()
    application.state.backend.rounds.shutdown()


def test_no_server_errors(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/health", "/metrics", "/setup", "/predict", "/webhook"}
    for operation in operations:

        @given(case=operation.as_strategy(), valid=st.booleans(), text=st.text(max_size=300))
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case, valid: bool, text: str) -> None:
            if valid and case.operation.path == "/predict" and isinstance(case.body, dict):
                # random XML is never a usable config: half the cases get a real one, so tasks reach the model
                case.body["label_config"] = CONFIG
                for task in case.body.get("tasks", []):
                    if isinstance(task, dict) and isinstance(task.get("data"), dict):
                        task["data"]["text"] = text
            case.call_and_validate(checks=[not_a_server_error])

        check()
