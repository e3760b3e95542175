"""The FastAPI application: ``create_app(settings)`` wires the model class, the model watcher and the round runner.

Nothing is built at import time. ``create_app_from_env`` is the uvicorn factory (``uvicorn --factory
backend.app:create_app_from_env``), reading ``BackendSettings`` from the environment.

Errors: request validation (malformed JSON, missing ``tasks``, a task that is not an object) → 422 with a one-line
``detail`` naming the field; an unusable label config → 400; a broken models directory → 503; per-task problems →
an empty result for that task (see ``backend.model``). Optional HTTP basic auth covers every route, ``/webhook``
included: Label Studio sends the credentials with /health, /setup, /predict and the Train button, but its project
webhooks (annotation events) only carry the headers configured on the webhook itself, so add an Authorization
header there (``AUTH_REQUIRED`` says how).
"""

from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import ValidationError

from backend.configs import ProjectConfigs
from backend.model import NerBackend
from backend.order_tab import OrderTabKeeper
from backend.prometheus import Metrics, MetricsMiddleware
from backend.refresh import PredictionRefresher
from backend.routes import predict_router, status_router, train_router
from backend.scheduler import RetrainScheduler
from backend.serving import ModelPool
from backend.settings import BackendSettings
from core.errors import ConfigError, NerloopError, RegistryError
from store.projects import migrate_flat_registry
from store.settings import explain_invalid

log = logging.getLogger(__name__)


RESUME_LOAD_WAIT = 600.0  # seconds a resumed refresh waits for its project's model (nothing else waits on it)


def create_app(settings: BackendSettings) -> FastAPI:
    for line in migrate_flat_registry(settings.models_dir):
        log.warning("migrated the flat registry to per-project folders: %s", line)
    metrics = Metrics()
    pool = ModelPool(settings, metrics)
    rounds = RetrainScheduler(settings, metrics)
    configs = ProjectConfigs(settings.max_projects)
    backend = NerBackend(settings, pool, rounds, metrics, configs)
    tabs = OrderTabKeeper(settings)
    refresher = PredictionRefresher(settings, backend.predict_with, tabs)
    pool.on_promotion = refresher.promoted

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool.start()
        refresher.resume(lambda project: pool.get(project, wait=RESUME_LOAD_WAIT))
        try:
            yield
        finally:
            refresher.shutdown()
            pool.stop()
            rounds.shutdown()

    app = FastAPI(title="nerloop ML backend", version=_installed_version(), lifespan=lifespan,
                  dependencies=_auth_dependencies(settings),
                  description="Label Studio ML backend: pre-annotations from the served round, retraining rounds.")
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.configs = configs
    app.state.backend = backend
    app.state.tabs = tabs
    for router in (status_router, predict_router, train_router):
        app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(NerloopError, _nerloop_error)
    return app


def _installed_version() -> str:
    """The distribution's version (declared once, in pyproject.toml), the same one ``nerloop --version`` prints."""
    try:
        return version("nerloop")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def create_app_from_env() -> FastAPI:
    """The uvicorn/gunicorn factory: settings from ``NERLOOP_*`` (and ``LABEL_STUDIO_*``) variables."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = BackendSettings()
    except ValidationError as exc:
        raise SystemExit(f"error: {explain_invalid(exc, BackendSettings)}") from None
    return create_app(settings)


AUTH_REQUIRED = ("basic auth required: set the ML backend's BASIC_AUTH user and password in Label Studio; its "
                 "project webhook sends none, so add the header 'Authorization: Basic <base64 of user:password>' to "
                 "the webhook to <backend>/webhook in the project's Settings > Webhooks")


def _auth_dependencies(settings: BackendSettings) -> list:
    if not settings.basic_auth_user:
        return []
    basic = HTTPBasic(auto_error=False)
    user = settings.basic_auth_user.encode()
    password = (settings.basic_auth_password.get_secret_value() if settings.basic_auth_password else "").encode()

    async def check(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:  # noqa: B008
        ok = credentials is not None and (
            secrets.compare_digest(credentials.username.encode(), user)
            & secrets.compare_digest(credentials.password.encode(), password))
        if not ok:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, AUTH_REQUIRED, headers={"WWW-Authenticate": "Basic"})

    return [Depends(check)]


def _location(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for error in exc.errors()[:5]:
        if error.get("type") == "json_invalid":
            problems.append(f"body is not valid JSON ({error.get('ctx', {}).get('error', 'decode error')}); "
                            "send a JSON object")
            continue
        problems.append(f"{_location(tuple(error.get('loc', ())))}: {error.get('msg')}")
    more = len(exc.errors()) - len(problems)
    detail = "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _nerloop_error(request: Request, exc: Exception) -> JSONResponse:
    code = status.HTTP_503_SERVICE_UNAVAILABLE if isinstance(exc, RegistryError) else status.HTTP_400_BAD_REQUEST
    if not isinstance(exc, ConfigError | RegistryError):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=code)
