"""A real tiny round's report, as a reviewer opens it: the agreement section when the export has tasks with two
annotators, the project's F1 over its rounds, the latest audit after `nerloop report`, no machine paths; and (where
Debian's Chromium and playwright are installed) the page rendered in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from lxml import html as lxml_html
from typer.testing import CliRunner

from nerloop.cli import app
from nerloop.pipeline import report_extra
from nerloop.round_data import RoundData
from nerloop.settings import Settings
from quality.audit import save_audit
from tests.nerloop.rounds_helpers import annotated_export
from training.report_sections import latest_audit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def with_second_annotators(export: Path, tasks: int) -> None:
    """Give the first ``tasks`` tasks a second annotation (user 2) that leaves out the first span."""
    data = json.loads(export.read_text(encoding="utf-8"))
    for task in data:
        task["annotations"][0].update(id=task["id"] * 10, completed_by=1)
    for task in data[:tasks]:
        first = task["annotations"][0]
        task["annotations"].append({**first, "id": task["id"] * 10 + 1, "completed_by": 2,
                                    "result": first["result"][1:]})
    export.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def project_rounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two rounds of the file project ``default``; returns the project's folder."""
    tmp_path = tmp_path_factory.mktemp("rounds")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("NERLOOP_MODELS_DIR", str(tmp_path / "models"))
        monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
        export = annotated_export(tmp_path, monkeypatch, sentences=60, test_sentences=20, epochs="1")
        with_second_annotators(export, tasks=4)
        for _ in range(2):
            result = CliRunner().invoke(app, ["round", "--export", str(export), "--force"])
            assert result.exit_code == 0, result.output
        audit = {"created": "2026-12-01T10:00:00+00:00", "sentences": 60, "folds": 2, "epochs": 1.0,
                 "export": str(export), "issues": []}
        (tmp_path / "models" / "project-default" / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
        result = CliRunner().invoke(app, ["report", "round-0002"])
        assert result.exit_code == 0, result.output
    return tmp_path / "models" / "project-default"


def test_the_round_report_has_the_quality_sections_and_the_history(project_rounds: Path) -> None:
    text = (project_rounds / "round-0002" / "report.html").read_text(encoding="utf-8")
    page = lxml_html.fromstring(text)
    assert page.xpath("//h2/text()")[-4:] == ["F1 over the project's rounds", "Annotator agreement",
                                              "Probable label errors", "Errors by sentence"]
    assert len(page.xpath('//svg[@class="history"]/circle[@class="point"]')) == 2
    assert "4 task(s) with two or more annotations compared." in page.text_content()
    assert "0 suspect task(s) of 60 (audit of 2026-12-01T10:00, 2 folds, 1 epochs; export export.json)" in text
    sources = page.xpath('//div[@class="sentence"]/p[@class="src"]/text()')
    assert sources and all(s.startswith("test.tsv:") for s in sources)  # the fixed test file, by its name
    assert str(project_rounds.parent.parent) not in text
    assert str(project_rounds.parent.parent) not in (project_rounds / "round-0002" / "report.md").read_text()


def test_a_live_projects_report_links_to_its_tasks(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text("[]", encoding="utf-8")
    settings = Settings(studio_url="http://studio.example:8080/", models_dir=tmp_path / "models")
    data = RoundData(config=None, export_file=export, report=None, split_dir=None, test=())  # type: ignore[arg-type]
    extra = report_extra(settings, "3", data, tmp_path / "models" / "project-3")
    assert extra == {"task_link": "http://studio.example:8080/projects/3/data?task={task}",
                     "sections": {"agreement": None, "label_issues": None}}


def test_an_audit_of_a_project_is_kept_dated_for_its_reports(tmp_path: Path) -> None:
    found = {"issues": [], "sentences": 10, "folds": 2, "epochs": 1.0, "export": "/x/export.json"}
    path = save_audit(tmp_path / "models", 3, found)
    assert path == tmp_path / "models" / "project-3" / "audit.json"
    saved = latest_audit(path.parent)
    assert saved is not None and {k: saved[k] for k in found} == found and saved["created"][:2] == "20"
    assert latest_audit(tmp_path / "models" / "project-4") is None


def test_the_report_in_a_real_browser(project_rounds: Path, tmp_path: Path) -> None:
    if not CHROMIUM.is_file() and not os.environ.get("CI"):  # ./scripts/test.sh installs it; CI must run this
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright import sync_api  # the `browser` extra, which ./scripts/test.sh installs
    page_file = tmp_path / "report.html"
    shutil.copy(project_rounds / "round-0002" / "report.html", page_file)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            assert page.locator("div.sentence").count() >= 1
            assert page.locator("svg.history circle.point").count() == 2
            assert all(image.evaluate("i => i.naturalWidth > 0") for image in page.locator("img").all())
            mark = page.locator("div.sentence mark").first.bounding_box()
            assert mark is not None and mark["width"] > 0
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [page_file.as_uri()]  # self-contained: nothing else was loaded
    assert (tmp_path / "report.png").stat().st_size > 10_000
