"""``nerloop serve``: run the Label Studio ML backend (``backend.app``) under uvicorn.

The app is built by a factory from the environment, so the same thing runs under any ASGI server::

    nerloop serve --host 0.0.0.0 --port 9090 --workers 2
    uvicorn --factory backend.app:create_app_from_env --host 0.0.0.0 --port 9090 --workers 2
    gunicorn -k uvicorn.workers.UvicornWorker -w 2 -b 0.0.0.0:9090 'backend.app:create_app_from_env()'

Settings are ``NERLOOP_*`` variables (``backend.settings.BackendSettings``): ``NERLOOP_MODELS_DIR``,
``NERLOOP_RETRAIN_EVERY`` (default 10; 0 = only the Train button), ``NERLOOP_RUNTIME`` (torch|onnx),
``NERLOOP_ONNX_QUANTIZE``, ``NERLOOP_BATCH_SIZE``, ``NERLOOP_BASIC_AUTH_USER``/``_PASSWORD`` (the window is the
round's own: ``NERLOOP_TRAIN__MAX_LENGTH``/``_STRIDE`` when it was trained),
``NERLOOP_LOG_DIR``, ``NERLOOP_ROUND_COMMAND`` (a JSON list), ``NERLOOP_ALLOW_UNAUTHENTICATED``, and
``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY``
(passed to training rounds through their environment only). In Label Studio: Settings → Model → Connect model,
URL ``http://<host>:9090``; tick "interactive preannotations" off (this backend predicts whole tasks).

A ``--host`` beyond loopback (``0.0.0.0``, a LAN address) needs basic auth, or ``--allow-unauthenticated`` when an
open backend is intended (``backend.exposure``); 127.0.0.1, ::1 and localhost need nothing.

One backend serves every project connected to it: each gets its own project's served round (``models/project-<id>``,
loaded on first use, at most ``NERLOOP_MAX_MODELS`` in memory). Each worker process loads its own copies and
follows the ``current`` pointers itself; rounds never overlap, across projects or workers, but each worker
counts its own annotation events, so with N workers ``retrain_every`` counts per worker. One worker
per 2-4 cores is plenty:
inference in one worker already uses all intra-op threads (set ``NERLOOP_TORCH_THREADS`` when running several).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

import typer
from pydantic import ValidationError

from backend.exposure import check_exposure
from backend.settings import BackendSettings
from nerloop.cli import app
from store.settings import explain_invalid


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port Label Studio connects to.")] = 9090,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model).")] = 1,
    runtime: Annotated[str | None, typer.Option(help="torch or onnx (env NERLOOP_RUNTIME).")] = None,
    allow_unauthenticated: Annotated[bool, typer.Option(
        "--allow-unauthenticated", help="Serve on a --host beyond loopback without basic auth "
                                        "(env NERLOOP_ALLOW_UNAUTHENTICATED).")] = False,
) -> None:
    """Serve pre-annotations to Label Studio and start training rounds from its webhooks."""
    import uvicorn

    settings = ctx.obj
    if runtime is not None:
        choice: Literal["torch", "onnx"] = "onnx" if runtime == "onnx" else "torch"
        if runtime not in ("torch", "onnx"):
            raise typer.BadParameter(f"--runtime {runtime!r}: expected torch or onnx")
        settings = settings.model_copy(update={"runtime": choice})
    os.environ.update(settings.shared_env())  # the app (and each worker) reads BackendSettings from it
    try:
        backend_settings = BackendSettings()
    except ValidationError as exc:
        typer.secho(f"error: {explain_invalid(exc, BackendSettings)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    if allow_unauthenticated:
        backend_settings = backend_settings.model_copy(update={"allow_unauthenticated": True})
    check_exposure(host, backend_settings)
    uvicorn.run("backend.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info")
