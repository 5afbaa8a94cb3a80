"""The FastAPI application, built from settings and a dispatcher (nothing at import time)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from jobs.database import init_db, make_engine, make_session_factory
from service import (
    routes_audit,
    routes_batches,
    routes_dicom,
    routes_fhir,
    routes_health,
    routes_job_files,
    routes_jobs,
    routes_keys,
    routes_slides,
    routes_viewer,
)
from service.deps import ServiceState
from service.dispatch import Dispatcher
from service.errors import document_problems, install_error_handlers
from service.key_cache import KeyCache
from service.metrics import RequestTimer, ServiceMetrics
from service.routes_ui import router as ui_router
from service.settings import ApiSettings


def create_app(settings: ApiSettings, dispatcher: Dispatcher) -> FastAPI:
    for folder in (settings.data_dir, settings.slides_dir, settings.results_dir,
                   settings.incoming_dir):
        folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    init_db(engine)
    app = FastAPI(title="PD-L1 TPS service", version="1")
    app.state.tps = ServiceState(settings, engine, make_session_factory(engine), dispatcher,
                                 KeyCache())
    app.state.metrics = ServiceMetrics(engine)
    app.add_middleware(RequestTimer, metrics=app.state.metrics)
    install_error_handlers(app)
    for module in (routes_slides, routes_jobs, routes_job_files, routes_fhir, routes_dicom,
                   routes_viewer, routes_batches, routes_keys, routes_health, routes_audit):
        app.include_router(module.router)
    app.include_router(ui_router)  # the browser pages at / (a client of /v1 only)
    build_openapi = app.openapi  # cached by FastAPI; rebuilt when routes are added

    def openapi() -> dict[str, Any]:
        return document_problems(build_openapi())  # idempotent

    app.openapi = openapi  # type: ignore[method-assign]
    return app
