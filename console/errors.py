"""Faults that are not the caller's: a database outage is 503 with Retry-After, never 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from console.policies import PolicyEngineMissing, PublishContention
from console.watermarking import WatermarkMissing

log = logging.getLogger("leakguard.console")
RETRY_AFTER_SECONDS = 5


def unavailable(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return unavailable("database unavailable, retry later")


async def _bad_value(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "a value is out of range for the database"}, status_code=422)


async def _part_missing(request: Request, exc: Exception) -> JSONResponse:
    return unavailable(str(exc))


def install_error_handlers(app: FastAPI) -> None:
    for exc_type in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(exc_type, _database_down)
    app.add_exception_handler(DataError, _bad_value)
    for exc_type in (PolicyEngineMissing, WatermarkMissing, PublishContention):
        app.add_exception_handler(exc_type, _part_missing)
