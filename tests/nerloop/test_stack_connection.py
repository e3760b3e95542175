"""In the folder where `nerloop up` runs, the CLI talks to the Label Studio it started; the environment wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerloop.cli import app, with_stack_connection
from nerloop.settings import Settings
from stack.record import StackInfo, save_state
from stack.services import free_port

TOKEN = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("NERLOOP_STUDIO_URL", "NERLOOP_STUDIO_API_KEY", "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / ".nerloop"
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(work))
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(tmp_path / "models"))
    return work


def record(work: Path, url: str) -> None:
    save_state(work, StackInfo(url, "admin@example.com", "pw", 12345))
    (work / "studio-login.json").write_text(json.dumps({"username": "admin@example.com", "password": "pw",
                                                        "token": TOKEN}))


def test_the_stack_record_fills_what_the_environment_leaves_unset(work: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    assert with_stack_connection(Settings(), said.append) == Settings()  # no record: nothing changes
    record(work, "http://127.0.0.1:8123")
    settings = with_stack_connection(Settings(), said.append)
    assert (settings.studio_url, settings.api_key) == ("http://127.0.0.1:8123", TOKEN)
    assert said == [f"Label Studio http://127.0.0.1:8123 and its API key (from {work / 'stack.json'})"]

    monkeypatch.setenv("NERLOOP_STUDIO_API_KEY", "from-the-environment")
    said.clear()
    settings = with_stack_connection(Settings(), said.append)
    assert (settings.studio_url, settings.api_key) == ("http://127.0.0.1:8123", "from-the-environment")
    assert said == [f"Label Studio http://127.0.0.1:8123 (from {work / 'stack.json'})"]

    monkeypatch.setenv("NERLOOP_STUDIO_URL", "http://studio.example:8080")
    said.clear()
    settings = with_stack_connection(Settings(), said.append)
    assert (settings.studio_url, settings.api_key) == ("http://studio.example:8080", "from-the-environment")
    assert said == []


def test_another_label_studio_never_gets_the_stacks_token(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record(work, "http://127.0.0.1:8123")
    monkeypatch.setenv("NERLOOP_STUDIO_URL", "http://studio.example:8080")
    settings = with_stack_connection(Settings(), lambda _line: None)
    assert (settings.studio_url, settings.api_key) == ("http://studio.example:8080", None)


def test_a_stack_whose_label_studio_is_gone_is_one_clear_error(work: Path) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    record(work, gone)
    result = CliRunner().invoke(app, ["agreement", "--project", "1"])
    assert result.exit_code == 1
    assert result.stderr == (f"Label Studio {gone} and its API key (from {work / 'stack.json'})\n"
                             f"error: {gone}: checking the API key failed: cannot reach Label Studio (ConnectError) "
                             "(start it (`nerloop up`) or set NERLOOP_STUDIO_URL to where it runs)\n")
