"""The console's FastAPI application factory; no work happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from console.db import checkpoint_forever, make_engine
from console.errors import install_error_handlers, unavailable
from console.middleware import GuardMiddleware, RequestMetrics
from console.settings import Settings, get_settings
from leakguard import __version__

#: Every router of the API, in one table.
ROUTERS = (
    "console.routes.agents",
    "console.routes.events",
    "console.routes.people",
    "console.routes.admin",
    "console.routes.zones",
    "console.routes.trace",
    "console.routes.alerts",
    "console.routes.ops",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    import importlib

    settings = settings or get_settings()
    engine = make_engine(settings.database_url, sqlite_timeout=settings.sqlite_timeout, background_checkpoints=True)
    app = FastAPI(title="leakguard console", version=__version__, lifespan=_lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = RequestMetrics()
    app.add_middleware(GuardMiddleware, metrics=app.state.metrics, trace_limit=settings.max_trace_bytes)
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(importlib.import_module(module).router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return unavailable(f"database unavailable ({type(exc).__name__})")
        return JSONResponse({"status": "ok", "version": __version__})

    return app


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` workers, which read settings from the environment."""
    return create_app()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from console.maintenance import maintain_forever

    tasks = [asyncio.create_task(maintain_forever(app))]
    if app.state.engine.dialect.name == "sqlite":
        tasks.append(asyncio.create_task(checkpoint_forever(app.state.engine)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
