"""Projects in the models directory: names, the project file and its validation, and migration of a flat registry."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import RegistryError
from nerloop.cli import app
from store import projects, registry


def flat_round(models: Path, name: str, project: int | None, promoted: bool = True) -> None:
    (models / name / "model").mkdir(parents=True)
    extra = {"source": {"project": project}} if project is not None else {}
    (models / name / "manifest.json").write_text(json.dumps({"promoted": promoted, "extra": extra}))


def test_projects_are_ids_or_names() -> None:
    assert [projects.project_name(v) for v in (3, "3", "007", "reviews", "project-12", None)] == [
        "3", "3", "7", "reviews", "12", "default"]
    with pytest.raises(RegistryError) as info:
        projects.project_name("../etc")
    assert str(info.value) == ("--project: '../etc' is not a project id or name (pass a Label Studio project id "
                               "(e.g. 3) or a name of letters, digits, '_', '.', '-')")


def test_a_new_project_gets_a_recorded_salt_and_validated_settings(tmp_path: Path) -> None:
    created = projects.open_project(tmp_path, 5)
    assert (created.project, created.salt) == ("5", "nerloop-project-5")
    assert projects.open_project(tmp_path, "5") == created  # read back, not made anew
    updated = projects.update_settings(tmp_path, 5, epochs=6, test_file="")
    assert updated.settings.model_dump(exclude_none=True) == {"epochs": 6.0, "test_file": ""}
    with pytest.raises(RegistryError) as info:
        projects.update_settings(tmp_path, 5, epochs=-1)
    path = tmp_path / "project-5" / "project.json"
    assert str(info.value) == (f"{path}: setting 'epochs': Input should be greater than 0 (allowed settings: "
                               "base_model, epochs, learning_rate, test_file, retrain_every)")
    raw = json.loads(path.read_text())
    raw["settings"]["epoch"] = 3
    path.write_text(json.dumps(raw))
    with pytest.raises(RegistryError) as info:
        projects.read_project(tmp_path, 5)
    assert str(info.value) == (f"{path}: field 'settings.epoch': Extra inputs are not permitted (found 3) (allowed "
                               "settings: base_model, epochs, learning_rate, test_file, retrain_every)")


def test_project_set_writes_the_file_and_projects_lists_it(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--models-dir", str(tmp_path), "project", "set", "2", "--base-model", "minilm",
                                 "--retrain-every", "20"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"project 2: {{'base_model': 'minilm', 'retrain_every': 20}} "
                             f"({tmp_path / 'project-2' / 'project.json'})\n")
    bad = runner.invoke(app, ["--models-dir", str(tmp_path), "project", "set", "2", "--unset", "epoch"])
    assert bad.exit_code == 1
    assert "setting 'epoch': Extra inputs are not permitted" in bad.output
    listing = runner.invoke(app, ["--models-dir", str(tmp_path), "projects"])
    assert "base_model=minilm, retrain_every=20" in listing.stdout


def test_a_flat_registry_moves_into_its_projects_and_nothing_is_lost(tmp_path: Path) -> None:
    models = tmp_path / "models"
    flat_round(models, "round-0001", 1)
    flat_round(models, "round-0002", 2)  # the movie round that was promoted over the restaurant one
    flat_round(models, "round-0003", None, promoted=False)
    (models / "current").write_text("round-0002\n")
    result = CliRunner().invoke(app, ["--models-dir", str(models), "rounds", "--project", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "migrated the flat registry to per-project folders: round-0001 -> project-1/round-0001",
        "migrated the flat registry to per-project folders: project-1/current -> round-0001",
        "migrated the flat registry to per-project folders: round-0002 -> project-2/round-0002",
        "migrated the flat registry to per-project folders: project-2/current -> round-0002",
        "migrated the flat registry to per-project folders: round-0003 -> project-default/round-0003"]
    assert registry.current_name(models / "project-1") == "round-0001"  # its newest promoted round
    assert registry.current_name(models / "project-2") == "round-0002"  # the flat pointer moved with its round
    assert registry.current_name(models / "project-default") is None
    assert (models / "current.migrated").read_text() == "round-0002\n"
    assert [r.name for r in registry.list_rounds(models)] == []
    assert projects.list_projects(models) == ["1", "2", "default"]
    assert projects.migrate_flat_registry(models) == []  # once only


def test_rounds_of_different_projects_take_turns(tmp_path: Path) -> None:
    said: list[str] = []
    order: list[str] = []

    def second() -> None:
        with projects.training_slot(tmp_path, said.append):
            order.append("second")

    with projects.training_slot(tmp_path):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]
    assert said and said[0].startswith("waiting for the running round (pid ")
