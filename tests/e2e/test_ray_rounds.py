"""Rounds on a real Ray cluster (127.0.0.1, its own loopback-only network namespace) with a real Label Studio and
a real backend: the Train button's round trains on the cluster and is served; two projects' rounds overlap; a
killed worker, a time limit and a stopped cluster each fail the round visibly and leave the served round alone;
``nerloop audit --ray`` finds what the local audit finds.

The cluster's processes see the backend's folders (registry, work dir) as empty directories: what a round's task
needs must travel through Ray.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from label_studio_sdk import LabelStudio
from typer.testing import CliRunner

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from nerloop.cli import app
from stack.services import Service, stop_process
from tests.e2e.conftest import LOGIN, MIT, nerloop_env, start_backend
from tests.e2e.ray_cluster import RayCluster, can_isolate, loopback_only, start_cluster
from tests.e2e.test_bulk_predict import nerloop
from tests.e2e.test_loop import wait_for
from tests.e2e.test_projects import backend_predict
from tests.quality.test_audit import corpus
from training.tiny import build_tiny_base_model

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def loopback() -> Iterator[None]:
    """Everything this module starts lives in a network namespace with only loopback (Ray binds every address)."""
    if not can_isolate():
        if os.environ.get("CI"):
            pytest.fail("the Ray tests need root (a network namespace of their own), as CI has")
        pytest.skip("the Ray tests need root to run the cluster in a network namespace of their own")
    with loopback_only():
        yield


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The backend's folders (models, work, logs): hidden from the cluster's processes."""
    return tmp_path_factory.mktemp("ray-host")


@pytest.fixture(scope="module")
def cluster(host: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    started = start_cluster(num_cpus=2, hidden=[host], log=tmp_path_factory.mktemp("ray-log") / "ray.log")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def live(studio: Service, cluster: RayCluster, host: Path, tiny_base: Path, small_test_file: Path) -> Iterator[dict]:
    """Two annotated projects whose Train buttons reach one backend that runs rounds on the cluster."""
    env = nerloop_env(host, studio, tiny_base, small_test_file, NERLOOP_EXECUTOR="ray",
                      NERLOOP_RAY__ADDRESS=cluster.address, NERLOOP_RAY__TIMEOUT="300", **cluster.env)
    client = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    sentences = read_tsv(MIT / "train.bio")
    projects = [client.projects.create(title=f"ray {name}", label_config=RESTAURANT_CONFIG.read_text())
                for name in ("one", "two")]
    for number, project in enumerate(projects):
        client.projects.import_tasks(id=project.id, request=tasks_from_sentences(
            sentences[number * 120:(number + 1) * 120], restaurant_config(), as_="annotations"))
    backend = start_backend(env, host / "backend.log")
    ml = {p.id: client.ml.create(project=p.id, url=backend.url, title="nerloop", auth_method="NONE").id
          for p in projects}
    yield {"env": env, "backend": backend, "client": client, "ids": [p.id for p in projects], "ml": ml}
    stop_process(backend.pid)


def project_health(url: str, project: int) -> dict:
    return httpx.get(f"{url}/health", timeout=10).json()["projects"].get(str(project), {})


def manifest(host: Path, project: int, name: str) -> dict:
    return json.loads((host / "models" / f"project-{project}" / name / "manifest.json").read_text())


def last_round(url: str, project: int, status: str) -> dict:
    return wait_for(lambda: (last := project_health(url, project).get("last_round") or {}).get("status") == status
                    and last, 300, f"project {project}'s round to end {status}")


def round_log(host: Path, project: int) -> str:
    logs = sorted((host / "models" / "logs").glob(f"project-{project}-*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1].read_text(errors="replace")


def test_train_buttons_run_rounds_side_by_side_on_the_cluster_and_the_backend_serves_them(live, cluster, host):
    url, projects = live["backend"].url, live["ids"]
    for project in projects:  # a cluster with room for two: the two projects' rounds overlap
        live["client"].ml.train(id=live["ml"][project])
    wait_for(lambda: all(project_health(url, p).get("current") == "round-0001" for p in projects), 300,
             "both projects' first rounds")
    spans = [(manifest(host, p, "round-0001")["started"], manifest(host, p, "round-0001")["created"])
             for p in projects]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    first = projects[0]
    ran = manifest(host, first, "round-0001")["executor"]
    assert ran["kind"] == "ray" and ran["address"] == cluster.address and ran["device"] == "cpu"
    assert ran["node_id"] and ran["host"] and ran["gpu"] is None
    assert ran["work_dir"].startswith("/tmp/nerloop-round-") and str(host) not in ran["work_dir"]
    assert ran["base_model_sent"] == "files"  # a local folder only this machine has travels as files
    log = round_log(host, first)
    node_lines = [line for line in log.splitlines() if line.startswith(f"(nerloop-round-project-{first} pid=")]
    assert any("training.fine_tune: trained " in line for line in node_lines), log
    assert not any(str(host) in line for line in node_lines)  # the node never named the registry's paths
    for project in projects:
        results = backend_predict(url, project, ["cheap thai food near downtown"], RESTAURANT_CONFIG.read_text())
        assert results[0]["model_version"] == "round-0001"
    listed = CliRunner().invoke(app, ["rounds", "--project", str(first)], env=live["env"]).stdout
    assert f"ray {ran['host']}" in next(line for line in listed.splitlines() if "round-0001" in line)


def test_a_worker_killed_mid_round_fails_the_round_and_the_next_one_succeeds(live, cluster, host):
    url, first = live["backend"].url, live["ids"][0]
    live["client"].ml.train(id=live["ml"][first])
    title = f"ray::nerloop-round-project-{first}"
    pid = wait_for(lambda: subprocess.run(["pgrep", "-f", title], capture_output=True, text=True).stdout.split(),
                   120, "the round's task to start on the cluster")
    os.kill(int(pid[0]), signal.SIGKILL)
    failed = last_round(url, first, "failed")
    assert (f"the round's training on the Ray cluster at {cluster.address} failed: WorkerCrashedError: "
            in failed["error"]), failed
    assert project_health(url, first)["current"] == "round-0001"  # unchanged
    assert not list((host / "models" / f"project-{first}").glob(".staging-*"))
    live["client"].ml.train(id=live["ml"][first])
    wait_for(lambda: project_health(url, first).get("current") == "round-0002", 300, "the next round")


def test_a_round_over_its_time_limit_is_cancelled_and_registers_nothing(live, cluster, host, tmp_path):
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks_from_sentences(read_tsv(MIT / "train.bio")[:60], restaurant_config(),
                                                      as_="annotations")))
    result = subprocess.run([sys.executable, "-m", "nerloop", "round", "--export", str(export), "--project", "timed"],
                            env={**live["env"], "NERLOOP_RAY__TIMEOUT": "2"}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert (f"error: NERLOOP_RAY__TIMEOUT: the round's training on the Ray cluster at {cluster.address} took "
            "longer than 2 s and was cancelled") in result.stderr
    assert not list((host / "models" / "project-timed").glob("round-*"))


def test_audit_on_the_cluster_finds_what_the_local_audit_finds(live, tmp_path):
    sentences = corpus(64)
    tasks = tasks_from_sentences(sentences, restaurant_config(), as_="annotations")
    for i, task in enumerate(tasks):
        task["id"], task["annotations"][0]["id"] = i + 1, 100 + i
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    base = build_tiny_base_model(tmp_path / "base", [w for s in sentences for w in s.tokens])
    env = {**live["env"], "NERLOOP_TRAIN__BASE_MODEL": str(base), "NERLOOP_TRAIN__EPOCHS": "8",
           "NERLOOP_TRAIN__LEARNING_RATE": "0.005", "NERLOOP_TRAIN__WARMUP_RATIO": "0",
           "NERLOOP_TRAIN__NUM_THREADS": "1", "NERLOOP_EXECUTOR": "local"}
    in_process = CliRunner().invoke(app, ["audit", "--export", str(export), "--folds", "2", "--json"], env=env)
    assert in_process.exit_code == 0, in_process.output
    local = json.loads(in_process.stdout)
    remote = json.loads(nerloop(env, "audit", "--export", str(export), "--folds", "2", "--json", "--ray").stdout)
    assert (local["executor"], remote["executor"]) == ("local", "ray")
    assert local["issues"] and remote["issues"] == local["issues"]


def test_a_stopped_cluster_fails_the_round_naming_its_address_and_the_backend_keeps_serving(live, cluster):
    url, first = live["backend"].url, live["ids"][0]
    cluster.stop()
    live["client"].ml.train(id=live["ml"][first])
    failed = last_round(url, first, "failed")
    assert f"cannot reach the Ray cluster at {cluster.address}" in failed["error"]
    results = backend_predict(url, first, ["cheap thai food near downtown"], RESTAURANT_CONFIG.read_text())
    assert results[0]["model_version"] == "round-0002"
