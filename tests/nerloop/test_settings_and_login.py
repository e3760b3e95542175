"""The CLI's settings edge, the local Label Studio login, and the environment Label Studio is started with."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from core.errors import StudioError
from nerloop.cli import app
from nerloop.local_loop import _with_loadable_base_model
from nerloop.settings import Settings
from stack.lifecycle import backend_env
from stack.record import read_state
from stack.studio_launcher import StudioLogin, load_or_create_login, studio_env
from store.studio import Studio


def test_settings_read_nerloop_and_label_studio_variables_and_hide_the_key(monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://studio:8080")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "s3cret-token")
    monkeypatch.setenv("NERLOOP_TRAIN__EPOCHS", "2")
    monkeypatch.setenv("NERLOOP_MODELS_DIR", "/srv/models")
    settings = Settings()
    assert settings.studio_url == "http://studio:8080"
    assert settings.api_key == "s3cret-token"
    assert settings.train.epochs == 2
    assert str(settings.models_dir) == "/srv/models"
    assert "s3cret-token" not in repr(settings) and "s3cret-token" not in str(settings.model_dump())


def test_an_empty_test_file_setting_turns_the_fixed_test_split_off(monkeypatch):
    monkeypatch.setenv("NERLOOP_TEST_FILE", "")
    assert Settings().test_file is None


def test_backend_env_passes_settings_down_as_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("NERLOOP_TRAIN__EPOCHS", "2")
    settings = Settings(models_dir=tmp_path / "m", work_dir=tmp_path / "w", studio_url="http://x:1",
                        studio_api_key="k")
    env = backend_env(settings)
    assert env["NERLOOP_MODELS_DIR"] == str(tmp_path / "m")
    assert env["NERLOOP_STUDIO_API_KEY"] == "k"
    assert env["NERLOOP_TRAIN__EPOCHS"] == "2.0"
    monkeypatch.setattr(os, "environ", {**os.environ, **env})
    assert Settings().train.epochs == 2


def test_login_is_created_private_once_and_reused(tmp_path):
    path = tmp_path / "studio-login.json"
    first = load_or_create_login(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.token) == 40 and int(first.token, 16) >= 0
    assert load_or_create_login(path) == first


def test_unreadable_login_file_is_named(tmp_path):
    path = tmp_path / "studio-login.json"
    path.write_text("{not json")
    with pytest.raises(StudioError) as err:
        load_or_create_login(path)
    assert str(err.value).startswith(f"{path}: unreadable login file")


def test_label_studio_gets_a_clean_explicit_environment(monkeypatch, tmp_path):
    for name in ("USERNAME", "PASSWORD", "PORT", "HOST", "DEBUG", "USER_TOKEN"):
        monkeypatch.setenv(name, "leaked")
    env = studio_env(tmp_path, StudioLogin("a@b.c", "pw", "f" * 40))
    assert not {"USERNAME", "PASSWORD", "PORT", "HOST", "DEBUG", "USER_TOKEN"} & set(env)
    assert env["LABEL_STUDIO_BASE_DATA_DIR"] == str(tmp_path)
    assert env["LABEL_STUDIO_USER_TOKEN"] == "f" * 40
    assert env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert env["ML_BLOCK_LOCAL_IP"] == "false" and env["SSRF_PROTECTION_ENABLED"] == "false"
    assert env["fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short"] == "true"


def test_connecting_without_a_key_says_which_variable_to_set():
    with pytest.raises(StudioError) as err:
        Studio.connect("http://127.0.0.1:9", None)
    assert str(err.value) == ("http://127.0.0.1:9: no Label Studio API key (set NERLOOP_STUDIO_API_KEY (or "
                              "LABEL_STUDIO_API_KEY) to your token from Label Studio's Account & Settings page)")


def test_connecting_to_a_server_that_is_down_says_what_to_do():
    with pytest.raises(StudioError) as err:
        Studio.connect("http://127.0.0.1:9", "token")
    assert str(err.value) == ("http://127.0.0.1:9: checking the API key failed: cannot reach Label Studio "
                              "(ConnectError) (start it (`nerloop up`) or set NERLOOP_STUDIO_URL to where it runs)")


def test_config_command_writes_and_shows_a_config(tmp_path):
    runner = CliRunner()
    out = tmp_path / "c.xml"
    result = runner.invoke(app, ["config", "--labels", "Dish, Price", "--output", str(out)])
    assert result.exit_code == 0 and result.output == f"wrote {out}\n"
    shown = runner.invoke(app, ["config", "--show", str(out)])
    assert shown.output == ("labels: Dish, Price\nfrom_name: label\nto_name: text\ndata key: text\n"
                            "tags: O B-Dish I-Dish B-Price I-Price\n")


def test_config_command_turns_a_bad_label_into_one_line_and_exit_1():
    result = CliRunner().invoke(app, ["config", "--labels", "Dish,Dish"])
    assert result.exit_code == 1
    assert result.output == ("error: generated config, <Labels name='label'>: label 'Dish' appears twice "
                             "(remove the duplicate <Label>)\n")


def test_no_hub_and_no_cache_falls_back_to_the_offline_encoder_loudly(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("nerloop.local_loop.base_model_cached", lambda name: False)  # whatever this machine has cached
    said: list[str] = []
    settings = _with_loadable_base_model(Settings(), said.append)
    assert settings.train.base_model == "minilm"
    assert said == ["WARNING: distilbert-base-uncased is not in the local cache and the model hub is unreachable; "
                    "training with the offline MiniLM encoder instead (--base-model minilm). Pass --base-model to "
                    "choose another."]
    chosen = Settings(train={"base_model": "my-org/my-model"})
    assert _with_loadable_base_model(chosen, said.append) == chosen  # an explicit choice is never replaced


def test_a_cached_default_model_is_kept_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("nerloop.local_loop.base_model_cached", lambda name: name == "distilbert-base-uncased")
    said: list[str] = []
    assert _with_loadable_base_model(Settings(), said.append).train.base_model == "distilbert-base-uncased"
    assert said == []


def test_an_unreadable_stack_record_is_named(tmp_path):
    settings = Settings(work_dir=tmp_path)
    (tmp_path / "stack.json").write_text('{"studio_url": 1}')
    with pytest.raises(StudioError) as err:
        read_state(settings.work_dir)
    assert str(err.value).startswith(f"{tmp_path / 'stack.json'}: unreadable stack record (")
    assert str(err.value).endswith("(stop the services it names by hand (or leave them), then delete the file)")
