"""`tps purge`: apply the retention rule now (jobs/retention.py), the same purge that the
workers' beat task and tps serve's timer run, and print what it removed."""
from __future__ import annotations

import argparse


def _purge(args: argparse.Namespace) -> int:
    from jobs.database import engine_for
    from jobs.retention import purge_expired
    from jobs.schema import upgrade
    from jobs.settings import StoreSettings

    settings = StoreSettings()
    if not settings.retention_days:
        print("retention is off (TPS_RETENTION_DAYS is unset or 0): nothing is purged")
        return 0
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(engine_for(settings.db_url))
    report = purge_expired(settings, dry_run=args.dry_run)
    assert report.cutoff is not None
    verb = "would remove" if args.dry_run else "removed"
    print(f"retention {settings.retention_days} days: slides uploaded before "
          f"{report.cutoff:%Y-%m-%d %H:%M} UTC are due")
    for slide in report.removed:
        print(f"{verb} slide {slide.slide_id} of lab {slide.lab} (uploaded "
              f"{slide.uploaded_at:%Y-%m-%d}) with {len(slide.job_ids)} job(s)"
              + "".join(f"\n  job {job_id}" for job_id in slide.job_ids))
    for slide_id, why in report.kept:
        print(f"kept slide {slide_id}: {why}")
    for batch_id in report.batches:
        print(f"{verb} empty batch {batch_id}")
    jobs = sum(len(slide.job_ids) for slide in report.removed)
    print(f"{verb} {len(report.removed)} slide(s), {jobs} job(s), {len(report.batches)} "
          f"batch(es); kept {len(report.kept)} with a running job")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "purge", help="delete the slides older than TPS_RETENTION_DAYS, with their jobs and "
        "outputs (never a running job's); the audit log is kept")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be removed, and remove nothing")
    parser.set_defaults(handler=_purge)
