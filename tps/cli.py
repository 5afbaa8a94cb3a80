"""The `tps` command. Each package registers its own subcommands; heavy imports stay lazy."""
from __future__ import annotations

import argparse
import importlib
import sys

# Packages that contribute subcommands. A package missing from an install (e.g. no torch for
# model/) must not break the rest of the command.
SUBCOMMAND_MODULES = (
    "synth.cli",
    "model.cli",
    "scoring.cli",
    "worker.celery_cli",
    "tps.evaluate_cli",
    "tps.calibrate_cli",
    "service.cli",
    "tps.purge_cli",
    "tps.serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tps", description="PD-L1 Tumor Proportion Score scoring")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name is not None and name.startswith(missing.name):
                continue  # that part is not written yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
