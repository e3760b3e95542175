"""Builders for small Label Studio exports and the paths of the real fixtures (imported by the tests here)."""

from __future__ import annotations

import json
from pathlib import Path

from nerloop.demo import MIT_DIR

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MIT = MIT_DIR


def region(start: int, end: int, text: str, *labels: str, from_name: str = "label", to_name: str = "text") -> dict:
    return {"from_name": from_name, "to_name": to_name, "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": list(labels)}}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def task(task_id: int, text: str, *annotations: dict) -> dict:
    return {"id": task_id, "data": {"text": text}, "annotations": list(annotations)}


def annotation(ann_id: int, *result: dict, updated: str = "2026-01-01T00:00:00Z", created: str | None = None,
               cancelled: bool = False, ground_truth: bool = False) -> dict:
    return {"id": ann_id, "result": list(result), "was_cancelled": cancelled, "ground_truth": ground_truth,
            "created_at": created or updated, "updated_at": updated}
