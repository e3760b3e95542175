"""The ``ray`` executor without a cluster: what travels is checked, and each way of not reaching a cluster is one
clear error. (tests/e2e/test_ray_rounds.py runs rounds on a real cluster.)"""

from __future__ import annotations

import hashlib
import socket
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ClusterError
from nerloop.cli import app
from store.settings import RaySettings, SharedSettings, TrainSettings
from training.cluster import connect, resources
from training.fine_tune import fine_tune
from training.remote_training import REQUIRED_FILES, FolderFiles, base_for_job, fine_tune_for


def model_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in REQUIRED_FILES:
        (path / name).write_bytes(name.encode() * 3)
    (path / "model.onnx").write_bytes(b"not sent")
    (path / "sub").mkdir()
    (path / "sub" / "extra.txt").write_text("kept")
    return path


def test_a_folder_travels_with_its_hashes_and_arrives_whole(tmp_path):
    sent = FolderFiles.read(model_folder(tmp_path / "out"))
    assert sorted(sent.files) == sorted([*REQUIRED_FILES, "sub/extra.txt"])  # ONNX exports stay behind
    sent.write_checked(tmp_path / "in", came_from="a node", required=REQUIRED_FILES)
    assert {p.relative_to(tmp_path / "in").as_posix(): p.read_bytes() for p in (tmp_path / "in").rglob("*")
            if p.is_file()} == sent.files


def test_a_damaged_or_incomplete_model_is_refused_before_anything_is_written(tmp_path):
    sent = FolderFiles.read(model_folder(tmp_path / "out"))
    damaged = FolderFiles({**sent.files, "config.json": b"{}"}, sent.sha256)
    with pytest.raises(ClusterError) as error:
        damaged.write_checked(tmp_path / "in", came_from="the Ray cluster at head:6379")
    assert str(error.value) == ("the file config.json that came back from the Ray cluster at head:6379 does not match "
                                "its SHA-256 (nothing was registered; run the round again)")
    partial = FolderFiles({k: v for k, v in sent.files.items() if k != "window.json"}, sent.sha256)
    with pytest.raises(ClusterError, match=r"^the model that came back from a node lacks window.json \("):
        partial.write_checked(tmp_path / "in", came_from="a node", required=REQUIRED_FILES)
    escaping = FolderFiles({"../outside": b"x"}, {"../outside": hashlib.sha256(b"x").hexdigest()})
    with pytest.raises(ClusterError, match=r"sent a file outside the model folder: '\.\./outside'"):
        escaping.write_checked(tmp_path / "in", came_from="a node")
    assert not (tmp_path / "in").exists() and not (tmp_path / "outside").exists()


def test_the_base_model_travels_by_name_unless_only_this_machine_has_it(tmp_path):
    settings = TrainSettings(base_model="distilbert-base-uncased")
    assert base_for_job(settings, "distilbert-base-uncased") == ("distilbert-base-uncased", None)
    name, files = base_for_job(settings.model_copy(update={"base_model": str(tmp_path)}),
                               str(model_folder(tmp_path)))
    assert name is None and files is not None and "config.json" in files.files


def test_the_executor_setting_picks_where_training_runs():
    assert fine_tune_for("local", RaySettings()) is fine_tune
    assert fine_tune_for("ray", RaySettings(address="head:6379")).__name__ == "fine_tune_on_cluster"
    assert resources(RaySettings(num_cpus=4, num_gpus=1, memory_gb=8)) == {
        "num_cpus": 4, "num_gpus": 1, "memory": 8 * 2**30}


def test_ray_settings_come_from_the_environment_and_reach_child_processes(monkeypatch):
    monkeypatch.setenv("NERLOOP_EXECUTOR", "ray")
    monkeypatch.setenv("NERLOOP_RAY__ADDRESS", "head:6379")
    monkeypatch.setenv("NERLOOP_RAY__NUM_GPUS", "1")
    settings = SharedSettings()
    assert (settings.executor, settings.ray.address, settings.ray.num_gpus) == ("ray", "head:6379", 1)
    env = settings.shared_env()
    assert (env["NERLOOP_EXECUTOR"], env["NERLOOP_RAY__ADDRESS"], env["NERLOOP_RAY__NUM_GPUS"]) == ("ray",
                                                                                                 "head:6379", "1.0")
    assert "NERLOOP_RAY__MEMORY_GB" not in env  # unset stays unset
    monkeypatch.setenv("NERLOOP_RAY__ADDRESS", "")
    assert SharedSettings().ray.address is None


def test_no_address_an_address_nobody_answers_and_no_ray_are_each_one_clear_error(monkeypatch):
    with pytest.raises(ClusterError) as error:
        connect(RaySettings())
    assert str(error.value) == ("NERLOOP_RAY__ADDRESS: the ray executor needs the cluster's address, and none is set "
                                "(set it to the head node's GCS address (head:6379) or ray://head:10001)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: nobody answers
        with pytest.raises(ClusterError, match=rf"^NERLOOP_RAY__ADDRESS: cannot reach the Ray cluster at "
                                               rf"127.0.0.1:{port} \(.*\) \(start the cluster or fix the address; "
                                               "nothing was promoted and the served round is unchanged"):
            connect(RaySettings(address=f"127.0.0.1:{port}", connect_timeout=2))
    with pytest.raises(ClusterError, match="has no host:port"):
        connect(RaySettings(address="head"))
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ClusterError) as error:
        connect(RaySettings(address="head:6379"))
    assert str(error.value) == ("NERLOOP_EXECUTOR: NERLOOP_EXECUTOR=ray needs Ray, which is not installed (pip "
                                "install 'nerloop[ray]' (Ray 2.60) here and on the cluster's nodes, or set "
                                "NERLOOP_EXECUTOR=local)")


def test_a_round_on_a_cluster_without_an_address_stops_with_one_line_and_registers_nothing(tmp_path, monkeypatch):
    export = Path(__file__).parents[1] / "fixtures" / "studio_export.json"
    monkeypatch.setenv("NERLOOP_EXECUTOR", "ray")
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("NERLOOP_TRAIN__BASE_MODEL", str(model_folder(tmp_path / "base")))
    result = CliRunner().invoke(app, ["round", "--export", str(export), "--project", "demo"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "error: NERLOOP_RAY__ADDRESS: the ray executor needs the cluster's address, and none is set (set it to the "
        "head node's GCS address (head:6379) or ray://head:10001)")
    assert not list((tmp_path / "models" / "project-demo").glob("round-*"))
