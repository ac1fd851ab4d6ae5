"""Fine-tuning and evaluation benchmarks (issue: fine-tuning and zero-shot evaluation).

    python bench/finetune_bench.py step   # a fine-tuning step vs the bare forward+backward+AdamW
    python bench/finetune_bench.py eval   # evaluation throughput, examples per second per task

Setting: e5-small, 2 torch threads, one batch of 32 English EWT sentences (PoS), runs
alternating in one process, medians reported. Results go to bench/results/*.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alignfreeze.data import DataCatalog  # noqa: E402
from alignfreeze.evaluate import evaluate  # noqa: E402
from alignfreeze.finetune import TrainingSettings, get_task  # noqa: E402
from alignfreeze.models import resolve_model  # noqa: E402
from common import alternate, machine, save  # noqa: E402


def bench_step(rounds: int) -> dict:
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from alignfreeze.optim import clip_grad_norm, make_optimizer, row_sparse_training

    torch.set_num_threads(2)
    path = resolve_model("e5-small")
    tok = AutoTokenizer.from_pretrained(path)
    task = get_task("pos")
    train = DataCatalog().find("pos", "en", "dev", dataset="ewt").load()
    labels = task.label_list(train)
    model = task.load_model(path, labels)
    model.train()
    features = task.encode([s for s in train if 20 <= len(s.words) <= 30][:32], tok, 96, labels)
    batch = task.collate(features, tok.pad_token_id)
    opt_bare = make_optimizer(model.parameters(), 1e-5, 0.0)
    opt_ft = make_optimizer(model.parameters(), 1e-5, 0.0)
    sched = get_linear_schedule_with_warmup(opt_ft, 10, 10_000)
    params = [p for p in model.parameters() if p.requires_grad]
    embedding = model.get_input_embeddings().weight
    opt_sparse = make_optimizer(model.parameters(), 1e-5, 0.0, row_params=[embedding])
    sched_sparse = get_linear_schedule_with_warmup(opt_sparse, 10, 10_000)

    def bare():
        out = model.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        out.last_hidden_state.pow(2).mean().backward()
        opt_bare.step()
        opt_bare.zero_grad(set_to_none=True)

    def finetune_step(clip: bool = True):
        # What alignfreeze.finetune.trainer does per optimiser step (one micro-batch).
        b = task.collate(features, tok.pad_token_id)
        model(**b).loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt_ft.step()
        sched.step()
        opt_ft.zero_grad(set_to_none=True)

    def finetune_sparse_step():
        # The same step as alignfreeze.finetune.trainer takes it now: sparse rows of the
        # word-embedding gradient, clipped with them, and the lazy row-wise optimiser.
        with row_sparse_training(model):
            b = task.collate(features, tok.pad_token_id)
            model(**b).loss.backward()
            clip_grad_norm(params, 1.0)
            opt_sparse.step()
            sched_sparse.step()
            opt_sparse.zero_grad(set_to_none=True)

    # The variant without clipping (max_grad_norm: null) isolates the cost of clipping, which
    # reads and rescales every gradient, the 96M-entry word-embedding gradient included.
    steps = {
        "bare": bare,
        "finetune": finetune_step,
        "finetune_no_clip": lambda: finetune_step(clip=False),
        "finetune_sparse_embedding": finetune_sparse_step,
    }
    times = alternate(steps, rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "batch": {"sentences": 32, "padded_length": int(batch["input_ids"].shape[1])},
        "rounds": rounds,
        "median_seconds": med,
        "all_seconds": times,
        "finetune_over_bare": med["finetune"] / med["bare"],
        "finetune_no_clip_over_bare": med["finetune_no_clip"] / med["bare"],
        "sparse_embedding_over_dense": med["finetune_sparse_embedding"] / med["finetune"],
    }
    for k, v in med.items():
        print(f"{k:>16}: {v:.3f} s/step (median of {rounds})")
    print(
        f"finetune / bare = {result['finetune_over_bare']:.3f}   "
        f"finetune without clipping / bare = {result['finetune_no_clip_over_bare']:.3f}   "
        f"sparse embedding / dense = {result['sparse_embedding_over_dense']:.3f}"
    )
    return result


def bench_eval(n: int) -> dict:
    from transformers import AutoTokenizer

    torch.set_num_threads(2)
    path = resolve_model("e5-small")
    tok = AutoTokenizer.from_pretrained(path)
    catalog = DataCatalog()
    cases = {
        "pos": ("fr", "test", "pud", 128, 128),
        "ner": ("fr", "dev", "panx", 128, 128),
        "nli": ("fr", "dev", "xnli", 256, 128),
        "qa": ("es", "test", "xquad", 256, 64),
    }
    rows = {}
    for name, (lang, split, dataset, max_length, batch_size) in cases.items():
        task = get_task(name, TrainingSettings(doc_stride=64))
        records = catalog.find(name, lang, split, dataset=dataset).load()[: n if name != "qa" else n // 4]
        labels = task.label_list(
            catalog.find(
                name,
                "en",
                "dev" if name != "qa" else "test",
                dataset={"pos": "ewt", "ner": "panx", "nli": "xnli", "qa": "xquad"}[name],
            ).load()
        )
        model = task.load_model(path, labels)
        evaluate(task, model, tok, records[:16], lang, max_length, batch_size, labels)  # warm-up
        t0 = time.perf_counter()
        evaluate(task, model, tok, records, lang, max_length, batch_size, labels)
        seconds = time.perf_counter() - t0
        rows[name] = {
            "language": lang,
            "examples": len(records),
            "seconds": seconds,
            "examples_per_second": len(records) / seconds,
            "max_length": max_length,
            "batch_size": batch_size,
        }
        print(
            f"{name}: {len(records)} {lang} examples in {seconds:.1f}s = {len(records) / seconds:.1f} examples/s "
            f"(max length {max_length}, batch {batch_size})"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["step", "eval"])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    print(machine())
    path = (
        save("finetune_step", bench_step(args.rounds))
        if args.what == "step"
        else save("eval_throughput", bench_eval(args.n))
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
