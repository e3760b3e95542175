"""HTTP routes of the ML backend protocol, one router per resource, over the ``NerBackend`` model class."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from backend.configs import ProjectConfigs
from backend.model import NerBackend
from backend.order_tab import OrderTabKeeper
from backend.prometheus import Metrics, render_gauges
from backend.schemas import (
    HealthResponse,
    PredictRequest,
    PredictResponse,
    ProjectHealth,
    SetupRequest,
    SetupResponse,
    WebhookRequest,
    WebhookResponse,
)
from core.errors import ConfigError, NerloopError
from core.project import ProjectRef
from labeling_config.config import LabelConfig, parse_config
from store.projects import last_round, list_projects, read_project


async def get_backend(request: Request) -> NerBackend:
    return request.app.state.backend


async def get_configs(request: Request) -> ProjectConfigs:
    return request.app.state.configs


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_tabs(request: Request) -> OrderTabKeeper:
    return request.app.state.tabs


Backend = Annotated[NerBackend, Depends(get_backend)]
Configs = Annotated[ProjectConfigs, Depends(get_configs)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
Tabs = Annotated[OrderTabKeeper, Depends(get_tabs)]

status_router = APIRouter(tags=["status"])
predict_router = APIRouter(tags=["predict"])
train_router = APIRouter(tags=["train"])


# /health, /metrics, /setup and /webhook are async: they run on the event loop, never queued behind /predict's
# worker threads, so they answer within Label Studio's 1-3 s timeouts however busy prediction is.
@status_router.get("/health", response_model=HealthResponse)
async def health(backend: Backend) -> HealthResponse:
    """UP, and per project: the round it is served, its last round's outcome, whether a round runs now."""
    return HealthResponse(status="UP", model_class=backend.model_class, projects=project_health(backend))


def project_health(backend: NerBackend) -> dict[str, ProjectHealth]:
    names = set(list_projects(backend.settings.models_dir)) | set(backend.pool.served())
    out = {}
    for name in sorted(names, key=lambda n: ProjectRef(n).sort_key):
        try:
            record = read_project(backend.settings.models_dir, name)
            last = last_round(record)
        except NerloopError as err:
            last = {"status": "unknown", "error": str(err)}
        schedule = backend.rounds.state(name)
        out[name] = ProjectHealth(model_version=backend.pool.loaded_version(name),
                                  current=backend.model_version(name), last_round=last,
                                  round_running=bool(schedule and schedule.active))
    return out


@status_router.get("/metrics", response_class=PlainTextResponse)
async def metrics(registry: MetricsDep, backend: Backend) -> PlainTextResponse:
    projects = project_health(backend)
    text = registry.render() + render_gauges(
        "nerloop_project_round_info", "The round each project is served (1 per project).",
        [({"project": name, "round": state.model_version}, 1) for name, state in projects.items()]) + render_gauges(
        "nerloop_project_last_round_ok", "1 when the project's newest round succeeded, 0 when it failed.",
        [({"project": name}, float(state.last_round.get("status") != "failed"))
         for name, state in projects.items() if state.last_round])
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@predict_router.post("/setup", response_model=SetupResponse,
                     responses={400: {"description": "The schema is not a usable <Labels>/<Text> config."}})
async def setup(body: SetupRequest, backend: Backend, configs: Configs, tabs: Tabs) -> SetupResponse:
    """Label Studio connects: remember the project's config (validated) and answer the served version at once;
    the project's Data Manager tab is kept in the background (``backend.order_tab``)."""
    project = ProjectRef.from_request(body.project)
    if body.label_schema:
        parse_config(body.label_schema, source="setup schema")
    if project:
        configs.remember(project, body.label_schema or None)
    backend.pool.warm(project)  # its first /predict should not wait for the load
    version = backend.model_version(project)
    tabs.connected(project, version)
    return SetupResponse(model_version=version)


@predict_router.post("/predict", response_model=PredictResponse,
                     responses={400: {"description": "The label config is missing or not usable."}})
def predict(body: PredictRequest, backend: Backend, configs: Configs) -> JSONResponse:
    """One prediction per task, in order (an empty ``result`` where there is nothing to predict)."""
    project = ProjectRef.from_request(body.project)
    config = _label_config(body, configs, project)
    tasks = [task.model_dump() for task in body.tasks]
    results = backend.predict(tasks, {"params": body.params or {}, "project": body.project}, config=config,
                              project=project)
    return JSONResponse({"results": results})


def _label_config(body: PredictRequest, configs: Configs, project: ProjectRef | None) -> LabelConfig:
    xml = body.label_config or configs.get(project)
    if not xml:
        raise ConfigError("no label_config in the request and none received by /setup for this project",
                          where="field 'label_config'",
                          hint="send the project's labeling config as label_config (Label Studio does)")
    return parse_config(xml, source="field 'label_config'")


@train_router.post("/webhook", response_model=WebhookResponse)
async def webhook(body: WebhookRequest, backend: Backend) -> WebhookResponse:
    """Count annotation events, start rounds on the Train button; replies at once (rounds run in the background)."""
    return WebhookResponse(**backend.fit(body.action, body.model_dump()))
