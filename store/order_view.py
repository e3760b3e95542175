"""The Data Manager tab nerloop keeps on each project it serves: "nerloop: most useful first", the tasks with no
annotation ordered by the served round's prediction score, ascending (the score is a confidence: lowest = most
useful to annotate, ``inference.uncertainty``). *Label All Tasks* from that tab opens them in that order (Label
Studio follows a tab's ordering when the project samples tasks sequentially, its default).

Label Studio computes a task's prediction score from the predictions of the project's ``model_version`` only
(every prediction when it is empty), so keeping the tab right means two things: the tab exists with its filter and
ordering (recreated if someone deleted it, corrected if someone changed them; its columns and other settings are
left as the user set them), and the project's ``model_version`` names the round whose predictions are stored.
``keep_order_view`` does both; it is called on connect (``/setup``, ``nerloop up``), after ``nerloop predict`` and
after the backend's refresh that follows a promotion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from store.studio import Studio

log = logging.getLogger(__name__)

ORDER_VIEW_TITLE = "nerloop: most useful first"
UNLABELLED = {"conjunction": "and", "items": [
    {"filter": "filter:tasks:total_annotations", "operator": "equal", "type": "Number", "value": 0}]}
ORDERING = ["tasks:predictions_score"]


@dataclass(frozen=True)
class KeptView:
    view_id: int
    version: str | None  # the project's model_version now points at this round; None: left as it was


def keep_order_view(studio: Studio, project_id: int, version: str | None = None) -> KeptView:
    """Create or correct the tab, and point the project's ``model_version`` at ``version`` (the served round) once
    the project holds predictions of it (Label Studio refuses a version with none; None leaves it)."""
    view_id = _keep_view(studio, project_id)
    if not version:
        return KeptView(view_id, None)
    if version not in (studio.model_versions(project_id) or {version}):
        log.info("project %s: no prediction of %s stored yet; the tab orders by it once there is", project_id,
                 version)
        return KeptView(view_id, None)
    with studio.errors(f"setting the model version of project {project_id} to {version}"):
        studio.call(f"api/projects/{project_id}/", "PATCH", body={"model_version": version})
    return KeptView(view_id, version)


def _keep_view(studio: Studio, project_id: int) -> int:
    with studio.errors(f"listing the Data Manager tabs of project {project_id}"):
        views = studio.call("api/dm/views/", params={"project": project_id}) or []
    mine = [view for view in views if (view.get("data") or {}).get("title") == ORDER_VIEW_TITLE]
    if not mine:
        with studio.errors(f"creating the tab {ORDER_VIEW_TITLE!r} in project {project_id}"):
            created = studio.call("api/dm/views/", "POST", body={"project": project_id, "data": view_data()})
        log.info("project %s: created the Data Manager tab %r", project_id, ORDER_VIEW_TITLE)
        return int(created["id"])
    view = mine[0]
    data = view.get("data") or {}
    if not is_kept(data):
        with studio.errors(f"correcting the tab {ORDER_VIEW_TITLE!r} in project {project_id}"):
            studio.call(f"api/dm/views/{view['id']}/", "PATCH",
                        body={"project": project_id, "data": {**data, **view_data()}})
        log.info("project %s: restored the filter and ordering of the tab %r", project_id, ORDER_VIEW_TITLE)
    return int(view["id"])


def view_data() -> dict[str, Any]:
    return {"title": ORDER_VIEW_TITLE, "filters": UNLABELLED, "ordering": ORDERING}


def is_kept(data: dict[str, Any]) -> bool:
    """Whether a tab's data still filters to unannotated tasks only and orders by prediction score."""
    filters = data.get("filters") or {}
    items = [{k: item.get(k) for k in ("filter", "operator", "value")} for item in filters.get("items") or []]
    wanted = [{k: item[k] for k in ("filter", "operator", "value")} for item in UNLABELLED["items"]]
    return list(data.get("ordering") or []) == ORDERING and items == wanted and filters.get("conjunction") == "and"
