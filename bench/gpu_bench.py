"""Step cost of realignment and fine-tuning at the paper's batch sizes, per precision, on
whatever device this runs on (a GPU when there is one), and what that means for the
AlignFreeze grid.

    python bench/gpu_bench.py                 # mBERT-, DistilmBERT- and XLM-R-base-size encoders
    python bench/gpu_bench.py --smoke         # a tiny encoder on the CPU, in seconds (the test suite runs it)

* **Models** are built from configs with random weights (no hub): the step cost does not
  depend on the weights.
* **Steps** are the project's own: realignment = :class:`RealignmentObjective` loss on 16
  sentence pairs of 64 subwords, backward, optimiser step (sparse embedding rows, as
  ``alignfreeze.realign`` runs it); fine-tuning = :func:`alignfreeze.finetune.finetune` on
  32 sequences of 96 subwords, token classification, clipping at 1.0, timed as
  (seconds for N + K steps - seconds for K steps) / N so that set-up does not count.
* **Output** per model, step and precision: seconds per step (median of rounds), tokens per
  second, and MFU (model FLOPs: 6 x non-embedding parameters x tokens, over the device's
  bf16 peak, where the device is known). Then a projection of the authors' grid (435 runs:
  3,286,800 fine-tuning and 2,560,950 realignment optimiser steps, counted in their released
  result CSVs) in device-hours, one run at a time, and the demo-sized runs per hour.

Writes ``bench/results/gpu.json`` (``--out`` to change) with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alignfreeze.finetune import TrainingSettings, finetune, get_task  # noqa: E402
from alignfreeze.optim import make_optimizer, row_sparse_training  # noqa: E402
from alignfreeze.precision import Precision  # noqa: E402
from alignfreeze.realign import RealignConfig, RealignmentObjective  # noqa: E402
from alignfreeze.realign.batches import EncodedPair  # noqa: E402
from common import RESULTS, machine  # noqa: E402

#: Optimiser steps of the authors' grid, per model, from the released result CSVs
#: (scripts/2025_naacl/results/*.csv: sums of finetuning_steps and realignment_steps).
GRID_STEPS = {
    "mbert": {"finetune": 1_100_355, "realign": 862_110},
    "distilmbert": {"finetune": 1_100_355, "realign": 862_110},
    "xlmr": {"finetune": 1_086_090, "realign": 836_730},
}
#: Dense bf16 peak (FLOP/s) by device name, from the vendors' data sheets (SXM parts).
BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12}
#: A demo run (configs/demo.yaml): fine-tuning steps, realignment steps, evaluated sentences.
DEMO_RUN = {"finetune": 126, "realign": 25, "eval_sentences": 7077}

MODELS = {
    "mbert": dict(
        model_type="bert",
        vocab_size=119547,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
    ),
    "distilmbert": dict(model_type="distilbert", vocab_size=119547, dim=768, n_layers=6, n_heads=12, hidden_dim=3072),
    "xlmr": dict(
        model_type="xlm-roberta",
        vocab_size=250002,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
    ),
    # The embedded decoder's shape (Gemma 3 270M, `alignfreeze prepare-model gemma3-270m`),
    # random weights: a decoder size on the bench.
    "gemma3-270m": dict(
        model_type="gemma3_text",
        vocab_size=262144,
        hidden_size=640,
        num_hidden_layers=18,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=256,
        intermediate_size=2048,
        max_position_embeddings=32768,
    ),
    "tiny": dict(
        model_type="bert",
        vocab_size=32000,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    ),
}


def build(name: str, head: str | None, device):
    from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification

    from alignfreeze.models.heads import head_class

    spec = dict(MODELS[name])
    config = AutoConfig.for_model(spec.pop("model_type"), pad_token_id=0, **spec)
    torch.manual_seed(0)
    if head == "token":
        config.num_labels = 17
        # transformers' token head, or alignfreeze's where the model type has none (Gemma 3):
        # head_class registers ours with the Auto class.
        head_class(config, "token")
        return AutoModelForTokenClassification.from_config(config).to(device)
    return AutoModel.from_config(config).to(device)


def non_embedding_parameters(model) -> int:
    embedding = model.get_input_embeddings().weight
    return sum(p.numel() for p in model.parameters() if p is not embedding)


def realign_step_seconds(name: str, precision: str, device, rounds: int, warmup: int) -> dict:
    model = build(name, None, device).train()
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)

    def sentence():
        return torch.randint(5, vocab, (64,), generator=generator).tolist()

    # 16 pairs of 64 subwords; a word starts at every other subword, every word is linked.
    pairs = [
        EncodedPair(
            sentence(),
            sentence(),
            [[p] for p in range(1, 63, 2)],
            [[p] for p in range(1, 63, 2)],
            [(w, w) for w in range(31)],
        )
        for _ in range(64)
    ]
    objective = RealignmentObjective.from_encoded(model, {"xx-yy": pairs}, 0, RealignConfig(batch_size=16))
    objective.head.to(device)
    amp = Precision(precision, device)
    times = []
    with row_sparse_training(model) as embedding:
        params = [p for p in model.parameters() if p.requires_grad] + list(objective.head.parameters())
        optimizer = make_optimizer(params, 2e-5, 0.01, row_params=[embedding])
        for step in range(warmup + rounds):
            start = time.perf_counter()
            with amp.autocast():
                loss = objective.loss(model)
            amp.backward(loss)
            amp.step(optimizer)
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if step >= warmup:
                times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "tokens": 32 * 64, "parameters": non_embedding_parameters(model)}


def finetune_step_seconds(name: str, precision: str, device, rounds: int, warmup: int) -> dict:
    task = get_task("pos")
    generator = torch.Generator().manual_seed(0)
    vocab = MODELS[name]["vocab_size"]
    features = [
        {
            "input_ids": torch.randint(5, vocab, (96,), generator=generator).tolist(),
            "labels": torch.randint(0, 17, (96,), generator=generator).tolist(),
        }
        for _ in range(32 * 8)
    ]
    tokenizer = SimpleNamespace(pad_token_id=0)

    def seconds(steps: int) -> float:
        model = build(name, "token", device)
        settings = TrainingSettings(
            epochs=100,
            batch_size=32,
            micro_batch_size=32,
            learning_rate=2e-5,
            max_length=96,
            max_steps=steps,
            precision=precision,
            group_by_length=False,
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        result = finetune(model, tokenizer, task, features, settings, seed=0, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return result.seconds

    samples = [(seconds(warmup + rounds) - seconds(warmup)) / rounds for _ in range(3)]
    model = build(name, "token", "cpu")
    return {"seconds": statistics.median(samples), "tokens": 32 * 96, "parameters": non_embedding_parameters(model)}


def peak_flops(device) -> float | None:
    if device.type != "cuda":
        return None
    device_name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK.items() if key in device_name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a tiny model on the CPU, 2 rounds: checks the code path")
    parser.add_argument("--models", nargs="*", default=["mbert", "distilmbert", "xlmr"])
    parser.add_argument(
        "--precisions", nargs="*", default=None, help="default: fp32 tf32 bf16 fp16 on a GPU, fp32 on a CPU"
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu.json")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")
    models = ["tiny"] if args.smoke else args.models
    precisions = args.precisions or (
        ["fp32", "bf16"] if args.smoke else ["fp32", "tf32", "bf16", "fp16"] if device.type == "cuda" else ["fp32"]
    )
    rounds, warmup = (2, 1) if args.smoke else (args.rounds, args.warmup)
    peak = peak_flops(device)
    results = []
    for name in models:
        for precision in precisions:
            for kind, measure in (("realign", realign_step_seconds), ("finetune", finetune_step_seconds)):
                m = measure(name, precision, device, rounds, warmup)
                flops = 6 * m["parameters"] * m["tokens"]
                row = {
                    "model": name,
                    "step": kind,
                    "precision": precision,
                    "batch": "16 pairs x 64" if kind == "realign" else "32 x 96",
                    "seconds_per_step": round(m["seconds"], 5),
                    "tokens_per_second": round(m["tokens"] / m["seconds"], 1),
                    "mfu": round(flops / m["seconds"] / peak, 4) if peak else None,
                }
                results.append(row)
                print(
                    f"{name:12} {kind:9} {precision:5} {row['seconds_per_step'] * 1000:9.2f} ms/step  "
                    f"{row['tokens_per_second']:10.1f} tokens/s  MFU {row['mfu'] if row['mfu'] is not None else 'n/a'}"
                )
    projection = {}
    for precision in precisions:
        step = {(r["model"], r["step"]): r["seconds_per_step"] for r in results if r["precision"] == precision}
        if all((m, k) in step for m in GRID_STEPS for k in ("finetune", "realign")):
            seconds = sum(GRID_STEPS[m][k] * step[(m, k)] for m in GRID_STEPS for k in ("finetune", "realign"))
            projection[precision] = {"grid_device_hours_one_run_at_a_time": round(seconds / 3600, 2)}
        if ("xlmr", "finetune") in step or models == ["tiny"]:
            model = "tiny" if models == ["tiny"] else "xlmr"
            run = DEMO_RUN["finetune"] * step[(model, "finetune")] + DEMO_RUN["realign"] * step[(model, "realign")]
            projection.setdefault(precision, {})["demo_sized_runs_per_hour_training_only"] = round(3600 / run, 1)
    payload = {
        "machine": machine(),
        "device": str(device),
        "bf16_peak_flops": peak,
        "smoke": args.smoke,
        "results": results,
        "projection": projection,
        "note": "projections count optimiser steps only (no data loading, alignment or evaluation)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(projection, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
