"""A backend bound beyond loopback without basic auth refuses to start, unless that is said to be intended."""

from __future__ import annotations

import os

import pytest
import uvicorn
from typer.testing import CliRunner

from backend.exposure import check_exposure, is_loopback
from backend.settings import BackendSettings
from core.errors import NerloopError
from nerloop.cli import app

REFUSAL = ("error: nerloop serve --host: bind address '0.0.0.0' is reachable beyond this machine and basic auth is off "
           "(NERLOOP_BASIC_AUTH_USER is unset), so anyone who reaches the port could start training rounds (set "
           "NERLOOP_BASIC_AUTH_USER and NERLOOP_BASIC_AUTH_PASSWORD (and the same in Label Studio's model connection), "
           "bind to 127.0.0.1, or set NERLOOP_ALLOW_UNAUTHENTICATED=true (--allow-unauthenticated) if an open backend "
           "is intended)\n")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("ml-backend", False),
    ("", False), ("128.0.0.1", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No auth settings; uvicorn.run recorded instead of run; the variables ``serve`` exports are undone after."""
    before = dict(os.environ)
    for name in ("NERLOOP_BASIC_AUTH_USER", "NERLOOP_BASIC_AUTH_PASSWORD", "NERLOOP_ALLOW_UNAUTHENTICATED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(tmp_path / "models"))
    served: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(kwargs))
    yield served
    for name in set(os.environ) - set(before):
        del os.environ[name]


def test_an_open_bind_without_auth_is_refused(clean_env):
    with pytest.raises(NerloopError) as info:
        check_exposure("0.0.0.0", BackendSettings())
    assert f"error: {info.value}\n" == REFUSAL


@pytest.mark.parametrize("env", [{"NERLOOP_BASIC_AUTH_USER": "ls", "NERLOOP_BASIC_AUTH_PASSWORD": "pw"},
                                 {"NERLOOP_ALLOW_UNAUTHENTICATED": "true"}])
def test_auth_or_an_explicit_setting_lets_an_open_bind_start(clean_env, monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    check_exposure("0.0.0.0", BackendSettings())


def test_serve_on_all_interfaces_without_auth_exits_with_one_line_and_serves_nothing(clean_env):
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9090"])
    assert (result.exit_code, result.output) == (1, REFUSAL)
    assert clean_env == []


@pytest.mark.parametrize(("args", "env"), [
    (["--host", "127.0.0.1"], {}),
    (["--host", "::1"], {}),
    (["--host", "localhost"], {}),
    (["--host", "0.0.0.0", "--allow-unauthenticated"], {}),
    (["--host", "0.0.0.0"], {"NERLOOP_ALLOW_UNAUTHENTICATED": "true"}),
    (["--host", "0.0.0.0"], {"NERLOOP_BASIC_AUTH_USER": "ls", "NERLOOP_BASIC_AUTH_PASSWORD": "pw"}),
])
def test_serve_starts_on_loopback_with_auth_or_when_told(clean_env, monkeypatch, args, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["serve", *args, "--port", "9090"])
    assert (result.exit_code, result.output) == (0, "")
    assert clean_env == [{"factory": True, "host": args[1], "port": 9090, "workers": 1, "log_level": "info"}]
