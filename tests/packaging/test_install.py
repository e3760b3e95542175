"""The distribution as a user gets it: the wheel built and installed in a fresh venv, run from folders far from the
source tree.

One venv serves all the tests here (a module fixture, about two minutes to install): first exactly the Dockerfile's
build (its RUN lines replayed by ``tests/packaging/dockerfile.py``, so the Dockerfile is the one place the install
commands are written), whose CMD and HEALTHCHECK then run against that install; then ``pip install <wheel>[studio]``
and ``nerloop up`` / ``nerloop down`` from an empty folder. The subprocesses get no PYTHONPATH, no NERLOOP_* or
LABEL_STUDIO_* variables, no other venv on PATH, an empty Hugging Face cache and HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stack.services import free_port, process_alive, start_service, stop_process
from tests.packaging.dockerfile import Replay, Stage, build_context, parse

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "labeling_config", "store", "converters", "inference", "training", "quality", "backend", "stack",
            "nerloop")
INSTALL_TIMEOUT = 600

pytestmark = pytest.mark.install


@dataclass(frozen=True)
class Installed:
    root: Path  # the container's "/"
    venv: Path
    wheel: Path
    env: dict[str, str]  # the image's environment (its ENV lines), the venv first on PATH
    image: Stage

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def clean_env(tmp: Path) -> dict[str, str]:
    """The caller's environment without anything that points at the source tree or another install."""
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p and not (Path(p).parent / "pyvenv.cfg").exists()]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NERLOOP_", "LABEL_STUDIO_", "PYTHON", "VIRTUAL_ENV", "HF_"))}
    env.update({"PATH": os.pathsep.join(path), "HF_HOME": str(tmp / "hf-home"), "HF_HUB_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
                # No .pyc for all of torch and Label Studio at install time (about a third of pip's CPU time here);
                # what runs is compiled on first import instead.
                "PIP_COMPILE": "false"})
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """A fresh venv, set up by replaying the Dockerfile: the wheel stage, then the image's install lines."""
    tmp = tmp_path_factory.mktemp("install")
    venv, root = tmp / "venv", tmp / "root"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    context = build_context(ROOT, tmp / "context")
    wheel_stage, image = parse(ROOT / "Dockerfile")
    replay = Replay(root=root, context=context, venv=venv, base_env=clean_env(tmp))
    replay.run_stage(wheel_stage, timeout=INSTALL_TIMEOUT)
    (wheel,) = (root / "src" / "dist").glob("nerloop-*.whl")
    replay.run_stage(image, timeout=INSTALL_TIMEOUT)
    print("\n".join(f"{seconds:6.1f} s  RUN {command}" for command, seconds in replay.timings))
    yield Installed(root, venv, wheel, replay.process_env(), image)
    # Gigabytes in tens of thousands of files: deleting them took 220 s here (a disk with online discard), so a
    # detached rm does it while the suite goes on (pytest's clean-up of old temp folders would stall a later run).
    subprocess.Popen(["rm", "-rf", str(tmp)], start_new_session=True, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


def tracked_package_files() -> set[str]:
    """The checkout's files under the packages: tracked, or new and not git-ignored (as the build context has)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard",
                             *PACKAGES], capture_output=True, text=True, check=True).stdout.split()
    return {name for name in listed if (ROOT / name).is_file()}


def test_the_wheel_holds_every_file_of_the_packages_and_nothing_else(installed: Installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    contents = {n for n in names if ".dist-info/" not in n}
    assert contents == tracked_package_files()
    assert {"nerloop/cli/__init__.py", "nerloop/demo/mit_restaurant/train.bio", "nerloop/demo/mit_restaurant/test.bio",
            "nerloop/demo/mit_restaurant/SOURCE.md", "labeling_config/restaurant.xml"} <= contents


def test_the_installed_package_finds_its_data_in_site_packages(installed: Installed, tmp_path: Path):
    script = ("import json; from labeling_config import RESTAURANT_CONFIG; from nerloop.demo import MIT_DIR, MIT_TEST; "
              "from nerloop.settings import Settings; s = Settings(); print(json.dumps([str(RESTAURANT_CONFIG), "
              "str(MIT_DIR), str(s.label_config), str(MIT_TEST), MIT_DIR.joinpath('SOURCE.md').is_file()]))")
    done = subprocess.run([installed.bin("python"), "-c", script], cwd=tmp_path, env=installed.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    config, corpus, setting_config, test_file, source = json.loads(done.stdout)
    site = str(installed.venv / "lib")
    assert all(p.startswith(site) for p in (config, corpus, setting_config, test_file)), done.stdout
    assert test_file == f"{corpus}/test.bio" and source is True


def test_nerloop_version_prints_the_distributions_version(installed: Installed, tmp_path: Path):
    tomllib = pytest.importorskip("tomllib")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    done = subprocess.run([installed.bin("nerloop"), "--version"], cwd=tmp_path, env=installed.env,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, f"nerloop {version}\n"), done.stderr


def image_command(argv: list[str], port: int) -> list[str]:
    """The image's CMD/HEALTHCHECK argv on a free port of this machine, bound to 127.0.0.1 only."""
    return [a.replace("9090", str(port)).replace("0.0.0.0", "127.0.0.1") for a in argv]


def test_the_images_cmd_serves_and_its_healthcheck_passes(installed: Installed):
    cmd, healthcheck = installed.image.all("CMD")[0], installed.image.all("HEALTHCHECK")[0]
    port = free_port()
    env, app = installed.env, installed.root / "app"  # WORKDIR /app, as in the image
    health = image_command(healthcheck.exec_form(), port)
    assert subprocess.run(health, cwd=app, env=env, timeout=60).returncode == 1  # nothing serves yet
    argv = image_command(cmd.exec_form(), port)
    argv[0] = shutil.which(argv[0], path=env["PATH"]) or argv[0]
    assert argv[0] == installed.bin("nerloop")
    service = start_service("image CMD", argv, env=env, host="127.0.0.1", port=port, cwd=app,
                            log=installed.root / "serve.log", timeout=120)
    try:
        assert subprocess.run(health, cwd=app, env=env, timeout=60).returncode == 0
        assert httpx.get(f"{service.url}/health", timeout=5).json() == {"status": "UP", "model_class": "NerBackend",
                                                                         "projects": {}}
    finally:
        stop_process(service.pid)


@pytest.fixture
def studio_installed(installed: Installed) -> Iterator[Installed]:
    started = time.monotonic()
    done = subprocess.run([installed.bin("pip"), "install", "-q", f"{installed.wheel}[studio]"], env=installed.env,
                          capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"{time.monotonic() - started:6.1f} s  pip install <wheel>[studio]")
    yield installed


def test_up_from_an_empty_folder_prints_a_working_url_and_login_and_down_stops_it(studio_installed: Installed,
                                                                                   tmp_path: Path):
    installed, folder = studio_installed, tmp_path / "empty"
    folder.mkdir()
    env = {k: v for k, v in installed.env.items() if not k.startswith("NERLOOP_")}  # defaults, relative to the folder
    studio_port, backend_port = free_port(), free_port()
    started = time.monotonic()
    up = subprocess.run([installed.bin("nerloop"), "up", "--tasks", "50", "--gold", "40", "--studio-port",
                         str(studio_port), "--backend-port", str(backend_port)], cwd=folder, env=env,
                        capture_output=True, text=True, timeout=600)
    state = folder / ".nerloop" / "stack.json"
    pids = json.loads(state.read_text()) if state.exists() else {}
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        print(f"{time.monotonic() - started:6.1f} s  nerloop up --tasks 50 --gold 40")
        assert "imported 50 tasks from train.bio (40 with gold annotations)" in up.stdout
        assert "training with the offline MiniLM encoder instead" in up.stdout
        url = re.search(r"^Label Studio: (\S+)$", up.stdout, re.M)
        login = re.search(r"^login: +(\S+) / (\S+)$", up.stdout, re.M)
        assert url and url.group(1) == f"http://127.0.0.1:{studio_port}/projects/1", up.stdout
        assert login, up.stdout
        assert f"ML backend:   http://127.0.0.1:{backend_port} (serving round-0001)" in up.stdout
        assert_login_opens(url.group(1), *login.groups())
        assert (folder / "models" / "project-1" / "round-0001" / "report.html").is_file()
    finally:
        down = subprocess.run([installed.bin("nerloop"), "down"], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=120)
        for pid in (pids.get("studio_pid"), pids.get("backend_pid")):
            if pid and process_alive(pid):
                stop_process(pid)
    assert down.returncode == 0, down.stderr
    assert "ML backend (pid" in down.stdout and "Label Studio (pid" in down.stdout
    assert not process_alive(pids["studio_pid"]) and not process_alive(pids["backend_pid"])
    assert not state.exists()


def assert_login_opens(project_url: str, username: str, password: str) -> None:
    """Sign in through Label Studio's own login form, then open the project page printed by ``up``."""
    base = project_url.split("/projects/")[0]
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
        form = client.get("/user/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert form.status_code == 200 and token, form.text[:500]
        signed_in = client.post("/user/login/", data={"email": username, "password": password,
                                                      "csrfmiddlewaretoken": token.group(1)},
                                headers={"Referer": f"{base}/user/login/"})
        assert signed_in.status_code == 302, signed_in.text[:500]
        page = client.get(project_url)
        assert page.status_code == 200, (page.status_code, page.headers.get("location"))
