"""Generation speed and peak memory of `synth.slide.write_slide` for one large slide.

Usage: .venv/bin/python benchmarks/synth_slide.py [SIZE] [--style ihc|markers]
Prints level-0 megapixels per second and the process's peak resident set size.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from synth.slide import write_slide


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("size", type=int, nargs="?", default=8192, help="side in pixels")
    parser.add_argument("--style", choices=("ihc", "markers"), default="ihc")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench.tiff"
        start = time.perf_counter()
        truth = write_slide(path, args.size, args.size, tps=30.0, seed=0, style=args.style)
        seconds = time.perf_counter() - start
        megabytes = path.stat().st_size / 1e6
    megapixels = args.size * args.size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    print(
        f"{args.style} {args.size}x{args.size}: {megapixels:.0f} Mpx in {seconds:.1f} s = "
        f"{megapixels / seconds:.1f} Mpx/s; {sum(truth.counts.values())} cells; "
        f"{truth.levels} levels; file {megabytes:.0f} MB; peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
