"""PHQ-9 scoring throughput: score() per row and score_batch() vs a plain row sum.

    .venv/bin/python bench/scoring_throughput.py [--rows 1000000] [--repeat 3]

Generates a seeded NumPy matrix of random PHQ-9 answer sets (rows x 9, values 0..3), then times,
in the same run and interleaved:

  (a) ``score(get("phq9"), answers)`` for every row: validation, item scores, total, severity
      band and flags, one Score object per row. The rows are converted to plain Python int
      lists first, outside the timed region (score() rejects NumPy integers, as it should).
  (b) the reference: ``matrix.sum(axis=1)``, a vectorised row sum of the same matrix.
  (b') ``sum(row)`` over the same int lists: the reference for (a).
  (c) ``score_batch(get("phq9"), matrix)``: validation, totals, band indexes and flag columns,
      vectorised; compared with (b). Skipped, and said so, when run against a checkout that
      has no score_batch (``PYTHONPATH=<old checkout>/src`` gives the "before" figures).

Prints rows/s for each, the ratios (a)/(b') and (c)/(b), and checks that every total agrees
exactly, that the item-9 flag matches column 9 and that the batch gives score()'s band and flag
on every row. Pure Python plus NumPy: no Django, no database.
``matrix.sum`` is a single-threaded reduction that uses no BLAS, so OPENBLAS_NUM_THREADS and
the like change nothing here. Informational only: the exit status is 0 unless something crashes
or the totals disagree, never because of timing.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from djangobench import cpu_model

ITEMS = 9
MAX_ANSWER = 3


def generate(rows: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(0, MAX_ANSWER + 1, size=(rows, ITEMS), dtype=np.int64)


def time_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter_ns()
    result = fn()
    return (time.perf_counter_ns() - started) / 1e9, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="answer sets to score")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each method")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")

    import numpy as np

    from ketacare.clinical import instruments
    from ketacare.clinical.instruments import get, score

    score_batch = getattr(instruments, "score_batch", None)  # absent before the batch scorer
    phq9 = get("phq9")
    item9_flag = "suicidal_ideation"

    started = time.perf_counter()
    matrix = generate(args.rows, args.seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    answers: list[list[int]] = matrix.tolist()  # plain Python ints, outside the timed region
    converted = time.perf_counter() - started

    def score_all() -> tuple[list[int], list[str], list[bool]]:
        # Keep only what the checks need: a million live Score objects would make the garbage
        # collector's full passes part of what is measured, which the app never pays.
        totals, severities, flagged = [], [], []
        for row in answers:
            result = score(phq9, row)
            totals.append(result.total)
            severities.append(result.severity)
            flagged.append(item9_flag in result.flags)
        return totals, severities, flagged

    def numpy_sum() -> Any:
        return matrix.sum(axis=1)

    def python_sum() -> list[int]:
        return [sum(row) for row in answers]

    def batch() -> Any:
        assert score_batch is not None
        return score_batch(phq9, matrix)

    methods: dict[str, Callable[[], Any]] = {
        "score": score_all,
        "numpy": numpy_sum,
        "pysum": python_sum,
    }
    labels = {
        "score": '(a) score(get("phq9"), row), per row',
        "numpy": "(b) matrix.sum(axis=1) (reference)",
        "pysum": "(b') sum(row) over the same int lists",
        "batch": '(c) score_batch(get("phq9"), matrix)',
    }
    if score_batch is not None:
        methods["batch"] = batch

    print("ketacare PHQ-9 scoring throughput benchmark")
    print("=" * 72)
    print(f"platform:  {platform.platform()} ({platform.machine()})")
    print(f"cpu:       {cpu_model()}, {os.cpu_count()} logical")
    print(f"python:    {platform.python_implementation()} {platform.python_version()}")
    print(f"numpy:     {np.__version__} (row sum: one thread, no BLAS)")
    print(f"code:      {instruments.__file__}")
    print(
        "batch:     "
        + ("score_batch() present" if score_batch else "no score_batch() in this code: (c) skipped")
    )
    print(
        f"data:      {args.rows:,} x {ITEMS} int64 answers 0..{MAX_ANSWER}, uniform, "
        f"seed {args.seed}"
    )
    print(
        f"prepared:  generated in {generated:.2f} s; .tolist() to Python ints in "
        f"{converted:.2f} s (neither timed)"
    )
    print(
        f"runs:      {args.repeat} timed run(s) per method, interleaved, after an untimed "
        "warm-up over 1,000 rows;\n           garbage collector on, as in the app"
    )
    print("measuring ...", flush=True)

    # Warm-up: instrument data loaded, caches filled, code paths taken once.
    for row in answers[:1000]:
        score(phq9, row)
    matrix[:1000].sum(axis=1)
    if score_batch is not None:
        score_batch(phq9, matrix[:1000])

    times: dict[str, list[float]] = {name: [] for name in methods}
    results: dict[str, Any] = {}
    for _ in range(args.repeat):
        for name, fn in methods.items():
            results.pop(name, None)  # free the previous run's million Score objects first
            gc.collect()
            seconds, results[name] = time_once(fn)
            times[name].append(seconds)

    # Exact agreement: every total, and the item-9 flag against column 9.
    totals, severities, flags = results["score"]
    score_totals = np.array(totals, dtype=np.int64)
    mismatches = int(np.count_nonzero(score_totals != results["numpy"]))
    flagged = np.array(flags, dtype=bool)
    flag_mismatches = int(np.count_nonzero(flagged != (matrix[:, ITEMS - 1] > 0)))
    pysum_mismatches = sum(a != b for a, b in zip(results["pysum"], totals, strict=True))

    header = f"{'method':<48} {'best':>9} {'median':>9} {'rows/s (best)':>15} {'vs (b)':>9}"
    print(f"\n{header}\n{'-' * len(header)}")
    best_ref = min(times["numpy"])
    for name in methods:
        best, median = min(times[name]), statistics.median(times[name])
        print(
            f"{labels[name]:<48} {best:>8.4f}s {median:>8.4f}s {args.rows / best:>15,.0f} "
            f"{best / best_ref:>8.1f}x"
        )
    per_row, floor = min(times["score"]), min(times["pysum"])
    print(
        f"\nratio (a)/(b'): score() takes {per_row / floor:,.1f}x as long as sum(row) "
        f"({per_row / args.rows * 1e6:.2f} us vs {floor / args.rows * 1e6:.3f} us per row); "
        f"(a)/(b): {per_row / best_ref:,.0f}x."
    )
    if "batch" in times:
        best_batch = min(times["batch"])
        print(
            f"ratio (c)/(b):  score_batch() takes {best_batch / best_ref:,.1f}x as long as the "
            f"NumPy row sum ({best_batch / args.rows * 1e9:.1f} ns vs "
            f"{best_ref / args.rows * 1e9:.1f} ns per row, best runs)."
        )
    print(
        "best/median: wall-clock for all rows. vs (b): time relative to the NumPy row sum.\n"
        "(b') is the Python interpreter visiting nine ints per row, with no validation, band or\n"
        "flag: the floor for any per-row Python scorer."
    )

    bands = Counter(severities)
    print("\nchecks:")
    print(f"  totals, score() vs matrix.sum(axis=1): {mismatches:,} of {args.rows:,} differ")
    print(f"  totals, score() vs sum(row):           {pysum_mismatches:,} differ")
    print(
        f"  flag {item9_flag} vs column 9 > 0: {flag_mismatches:,} differ "
        f"({int(flagged.sum()):,} rows flagged)"
    )
    print("  severity bands: " + ", ".join(f"{k} {v:,}" for k, v in sorted(bands.items())))
    batch_mismatches = 0
    if "batch" in results:
        batched = results["batch"]
        batch_mismatches = (
            int(np.count_nonzero(batched.totals != score_totals))
            + int(np.count_nonzero(batched.severities() != np.array(severities, dtype=object)))
            + int(np.count_nonzero(batched.flags[item9_flag] != flagged))
        )
        print(
            f"  score_batch() vs score(), totals, bands and {item9_flag}: "
            f"{batch_mismatches:,} differ"
        )
    if mismatches or pysum_mismatches or flag_mismatches or batch_mismatches:
        print("FAILED: score() or score_batch() disagrees with the reference")
        return 1
    print("  all agree exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
