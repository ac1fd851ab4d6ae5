"""Scale benchmark of the realignment data stage: does a run's start-up depend on the size
of its realignment corpus?

    python bench/realign_data_bench.py                 # 20k, 200k and 2M pairs, both samplings
    python bench/realign_data_bench.py --sizes 20000   # one size
    python bench/realign_data_bench.py --smoke         # 2k and 20k pairs, 1 step (tests)

For each size it writes an en-fr corpus of that many sentence pairs, built from the bundled
UN dev and test sentences (8,000 pairs, repeated, each copy numbered so that no two lines are
the same), then, in a fresh process per size and sampling, as a run does:

1. loads e5-small and its tokenizer;
2. opens the corpus for random access and dictionary-aligns it lazily (MUSE en-fr), as
   :class:`alignfreeze.align.sources.AlignedFile` does for every run;
3. takes 20 realignment steps of 16 pairs (AdamW with sparse embedding rows, as :func:`realign` trains).

It reports the time to the first step (from the process's start: model, data stage and the
first step, as a run's wall clock sees it), the data stage alone (from the model loaded to
the first batch ready: line index, sampling, alignment and tokenisation of what is drawn),
the median seconds per step of the 19 steps after the first, and the process's peak RSS. Caches
are off (``ALIGNFREEZE_NO_CACHE=1``): every size starts cold. Results go to
``bench/results/realign_data.json`` with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, save  # noqa: E402

SAMPLINGS = {
    # ours: uniform draws, one language pair a batch
    "uniform": {"sampling": "uniform", "batching": "by_pair"},
    # the reference's stream: a 10,000-pair shuffle buffer over the file in order, mixed batches
    "shuffle_buffer": {"sampling": "shuffle_buffer", "batching": "mixed"},
}


def build_corpus(folder: Path, n_pairs: int, data_root: Path) -> tuple[Path, Path]:
    """``n_pairs`` en-fr pairs from the UN dev+test sentences, each copy numbered (``(k)``)."""
    from alignfreeze.data import DataCatalog, read_parallel

    catalog = DataCatalog(data_root)
    base = []
    for split in ("dev", "test"):
        base += read_parallel(*catalog.find("parallel", "en-fr", split, dataset="un").files)
    src, tgt = folder / f"bench-{n_pairs}.en", folder / f"bench-{n_pairs}.fr"
    with open(src, "w", encoding="utf-8") as fs, open(tgt, "w", encoding="utf-8") as ft:
        for i in range(n_pairs):
            pair, copy = base[i % len(base)], i // len(base)
            fs.write(f"{pair.src} ({copy})\n")
            ft.write(f"{pair.tgt} ({copy})\n")
    return src, tgt


def child(args) -> None:
    """One measurement, in its own process (its peak RSS is its own)."""
    t_start = time.perf_counter()
    import torch

    from alignfreeze.align.config import parse_aligner
    from alignfreeze.align.sources import AlignedFile
    from alignfreeze.data import DataCatalog
    from alignfreeze.data.parallel import ParallelFile
    from alignfreeze.models.loading import load_model, load_tokenizer
    from alignfreeze.optim import make_optimizer, row_sparse_training
    from alignfreeze.realign import RealignConfig, RealignmentObjective

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = load_tokenizer("e5-small")
    model = load_model("e5-small")
    model.train()
    t_model = time.perf_counter()
    catalog = DataCatalog(args.data_root)
    aligner = parse_aligner({"name": "dictionary"})
    source = AlignedFile(ParallelFile(args.src, args.tgt), "en", "fr", aligner, catalog)
    config = RealignConfig(batch_size=16, **SAMPLINGS[args.sampling])
    objective = RealignmentObjective(model, tokenizer, [source], config, seed=0)
    step_times = []
    t_first = None
    with row_sparse_training(model) as embedding:  # as realign() trains: sparse embedding rows
        params = list(model.parameters()) + list(objective.head.parameters())
        optimizer = make_optimizer(params, 2e-5, 0.01, "adamw", [embedding])
        for step in range(args.steps):
            t0 = time.perf_counter()
            batch = next(objective.batches)  # drawn: read, aligned and tokenised as needed
            if step == 0:
                t_data = time.perf_counter()
            loss = objective.loss(model, batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            float(loss)
            step_times.append(time.perf_counter() - t0)
            if step == 0:
                t_first = time.perf_counter()
    summary = objective.batches.summary()
    print(
        json.dumps(
            {
                "pairs": len(source),
                "sampling": args.sampling,
                "model_seconds": round(t_model - t_start, 2),
                "first_step_seconds": round(t_first - t_start, 2),
                "data_seconds": round(t_data - t_model, 2),
                "first_step_compute_seconds": round(t_first - t_data, 2),
                "seconds_per_step": round(statistics.median(step_times[1:]), 3) if len(step_times) > 1 else None,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "lines_aligned": source.lines_aligned,
                "drawn": summary["drawn"],
                "distinct": summary["distinct"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000, 2_000_000])
    parser.add_argument("--samplings", nargs="+", default=list(SAMPLINGS), choices=list(SAMPLINGS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true", help="2k and 20k pairs, 1 step; no results file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tgt", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sampling", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.smoke:
        args.sizes, args.steps = [2_000, 20_000], 1
    from alignfreeze.paths import default_data_root

    data_root = args.data_root or default_data_root()
    results = []
    with tempfile.TemporaryDirectory(prefix="alignfreeze-bench-") as tmp:
        for size in args.sizes:
            t0 = time.perf_counter()
            src, tgt = build_corpus(Path(tmp), size, data_root)
            print(f"{size:,} pairs written in {time.perf_counter() - t0:.1f}s ({src.stat().st_size / 1e6:.0f} MB en)")
            for sampling in args.samplings:
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    f"--src={src}",
                    f"--tgt={tgt}",
                    f"--sampling={sampling}",
                    f"--steps={args.steps}",
                    f"--threads={args.threads}",
                    f"--data-root={data_root}",
                ]
                env = {**os.environ, "ALIGNFREEZE_NO_CACHE": "1"}
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"benchmark child failed ({size} pairs, {sampling}):\n{done.stderr[-3000:]}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                results.append(row)
                print(
                    f"  {sampling:>14}: first step {row['first_step_seconds']:.1f}s "
                    f"(data {row['data_seconds']:.1f}s, step {row['first_step_compute_seconds']:.1f}s), "
                    f"{row['seconds_per_step']} s/step, "
                    f"peak RSS {row['peak_rss_mb']:.0f} MB, {row['lines_aligned']:,} lines aligned"
                )
            os.unlink(src)
            os.unlink(tgt)
    ratios = {}
    for sampling in args.samplings:
        rows = sorted((r for r in results if r["sampling"] == sampling), key=lambda r: r["pairs"])
        small, large = rows[0], rows[-1]
        ratios[sampling] = {
            "sizes": [small["pairs"], large["pairs"]],
            "peak_rss": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
            "first_step": round(large["first_step_seconds"] / small["first_step_seconds"], 3),
            "data": round(large["data_seconds"] / small["data_seconds"], 3),
        }
        print(f"{sampling}: largest / smallest: {ratios[sampling]}")
    if not args.smoke:
        path = save("realign_data", {"steps": args.steps, "results": results, "ratios": ratios})
        print(f"written {path}")
    else:
        print(json.dumps({"machine": machine()["cpu"], "ratios": ratios}))


if __name__ == "__main__":
    main()
