"""`tps serve`: the API, with an in-process worker unless a broker is configured."""
from __future__ import annotations

import argparse


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.dispatch import CeleryDispatcher, Dispatcher
    from service.settings import get_api_settings

    settings = get_api_settings()
    runner = None
    dispatcher: Dispatcher
    if settings.broker_url is None:
        from worker.embedded import EmbeddedRunner
        from worker.purge_task import PurgeTimer
        from worker.settings import get_worker_settings

        worker_settings = get_worker_settings()
        if not worker_settings.model_path.is_file():
            print(f"warning: model {worker_settings.model_path} not found; jobs will fail "
                  "until it exists (set TPS_MODEL_PATH)")
        runner = EmbeddedRunner(worker_settings)
        dispatcher = runner
        purge_timer = PurgeTimer(worker_settings)  # the retention purge, as beat runs it
    else:
        dispatcher = CeleryDispatcher(settings.broker_url)
    app = create_app(settings, dispatcher)
    if runner is not None:
        runner.start()
        purge_timer.start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        if runner is not None:
            purge_timer.stop()
            runner.stop()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("serve", help="run the REST API (embedded worker without a broker)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=_serve)
