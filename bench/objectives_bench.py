"""Aligner-free realignment and the loss on chosen layers, measured on the embedded model.

    python bench/objectives_bench.py                 # both settings, 300 steps each
    python bench/objectives_bench.py --steps 20      # a quick look

For each setting, e5-small is realigned from its pretrained weights with the
``contrastive_sentence`` objective (no aligner) on the UN dev sentence pairs of en-ar, en-es,
en-fr, en-ru and en-zh (one language pair per batch, in turn), and sentence retrieval is
measured before and after at every hidden state (0: embeddings, 12: top) on held-out
sentences: the first ``--n-test`` (300) lines of each UN *test* set, which realignment never
reads. Realignment: batches of 16 sentence pairs of at most 64 subwords, length-bucketed,
AdamW at 2e-5.

* ``top``: the loss on the top layer (the default ``layers``);
* ``layer6``: ``realignment.layers: [6]``, the loss on hidden state 6 only.

Writes bench/results/objectives.json (with the machine) and, with ``--plot``, a figure of the
curves before and after.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alignfreeze.align.sources import SentencePairFile  # noqa: E402
from alignfreeze.analysis.translation import sentence_retrieval  # noqa: E402
from alignfreeze.data.catalog import DataCatalog  # noqa: E402
from alignfreeze.data.parallel import read_parallel  # noqa: E402
from alignfreeze.models.loading import load_model, load_tokenizer  # noqa: E402
from alignfreeze.realign.config import RealignConfig  # noqa: E402
from alignfreeze.realign.trainer import realign  # noqa: E402
from common import save  # noqa: E402

LANGUAGES = ("ar", "es", "fr", "ru", "zh")
SETTINGS = {"top": {}, "layer6": {"layers": [6]}}


def retrieval(model, tokenizer, test: dict) -> dict[str, list[float]]:
    """Per language pair and on average, the accuracy at every hidden state."""
    per_pair = {pair: sentence_retrieval(model, tokenizer, src, tgt) for pair, (src, tgt) in test.items()}
    n_states = len(next(iter(per_pair.values())))
    mean = [sum(acc[k] for acc in per_pair.values()) / len(per_pair) for k in range(n_states)]
    return {"mean": mean, **per_pair}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--n-test", type=int, default=300, help="held-out UN test sentences per language pair")
    parser.add_argument("--max-length", type=int, default=64, help="subwords per realignment sentence")
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--plot", type=Path, help="write the figure here (png)")
    args = parser.parse_args()
    torch.set_num_threads(2)

    catalog = DataCatalog()
    test = {}
    for lang in LANGUAGES:
        pairs = read_parallel(*catalog.find("parallel", f"en-{lang}", "test", dataset="un").files)[: args.n_test]
        test[f"en-{lang}"] = ([p.src for p in pairs], [p.tgt for p in pairs])
    corpora = []
    for lang in LANGUAGES:
        corpus, dataset = catalog.parallel_file(f"en-{lang}", "dev", "un")
        corpora.append(SentencePairFile(corpus, "en", lang, label=f"{dataset}:dev"))

    tokenizer = load_tokenizer("e5-small")
    before = retrieval(load_model("e5-small"), tokenizer, test)
    results = {"before": before, "settings": {}}
    for name, fields in SETTINGS.items():
        config = RealignConfig(
            objective="contrastive_sentence",
            steps=args.steps,
            learning_rate=args.learning_rate,
            max_length=args.max_length,
            length_bucketing=True,  # less padding: UN sentences are long
            **fields,
        )
        model = load_model("e5-small")
        t0 = time.perf_counter()
        outcome = realign(model, tokenizer, corpora, config, seed=0)
        seconds = time.perf_counter() - t0
        after = retrieval(model, tokenizer, test)
        results["settings"][name] = {
            "config": config.model_dump(mode="json", exclude_defaults=True),
            "realign_seconds": round(seconds, 1),
            "loss_first": outcome.losses[0],
            "loss_last": outcome.losses[-1],
            "after": after,
        }
        gains = [a - b for a, b in zip(after["mean"], before["mean"])]
        print(
            f"{name}: realigned {args.steps} steps in {seconds:.0f} s, loss {outcome.losses[0]:.3f} -> "
            f"{outcome.losses[-1]:.3f}"
        )
        print("  state  before  after  gain")
        for k, (b, a, g) in enumerate(zip(before["mean"], after["mean"], gains)):
            print(f"  {k:>5}  {100 * b:6.1f}  {100 * a:5.1f}  {100 * g:+5.1f}")
    results.update(steps=args.steps, n_test=args.n_test, languages=list(LANGUAGES))
    print("wrote", save("objectives", results))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        states = range(len(before["mean"]))
        ax.plot(states, [100 * v for v in before["mean"]], "k-o", label="pretrained")
        for name, style in zip(SETTINGS, ("C0-s", "C1-^")):
            after = results["settings"][name]["after"]["mean"]
            ax.plot(states, [100 * v for v in after], style, label=f"realigned ({name})")
        ax.set_xlabel("hidden state (0: embeddings)")
        ax.set_ylabel("sentence retrieval, top-1 (%)")
        ax.set_title(f"e5-small, contrastive_sentence, {args.steps} steps, UN test")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
