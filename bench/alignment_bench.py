"""Alignment-measure benchmark (issue: alignment analysis).

    python bench/alignment_bench.py            # 1,000 pairs x 13 hidden states x 5 languages
    python bench/alignment_bench.py --batch    # forward batch size: 1 vs 16 vs 64 (en-fr)

Setting: e5-small, UN test en-{ar,es,fr,ru,zh}, dictionary-aligned (MUSE), 1,000 word pairs
per language, all 13 hidden states, weak + strong, both directions. Times are wall-clock
seconds in one process after the model is loaded; the dictionary alignment is timed
separately (it is cached on disk after the first call). Results are printed and written to
bench/results/alignment.json with the machine they ran on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alignfreeze.analysis.retrieval import first_subword_states, measure_alignment, retrieval_accuracy  # noqa: E402
from alignfreeze.analysis.word_pairs import dictionary_aligned, sample_word_pairs  # noqa: E402
from alignfreeze.data import DataCatalog  # noqa: E402
from alignfreeze.models import resolve_model  # noqa: E402
from common import save  # noqa: E402

LANGUAGES = ["ar", "es", "fr", "ru", "zh"]


def load():
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model("e5-small")
    return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def full_measure(catalog: DataCatalog) -> dict:
    model, tok = load()
    per_language = {}
    t_all = time.perf_counter()
    for lang in LANGUAGES:
        t0 = time.perf_counter()
        corpus = dictionary_aligned(catalog, f"en-{lang}", "test", "un")
        sample = sample_word_pairs(corpus, 1000, seed=0)
        t1 = time.perf_counter()
        scores = measure_alignment(model, tok, sample)
        t2 = time.perf_counter()
        n_tokens = sum(
            len(tok(w, is_split_into_words=True)["input_ids"]) for w in sample.src_sentences + sample.tgt_sentences
        )
        per_language[f"en-{lang}"] = {
            "pairs": scores.n_pairs,
            "sentence_pairs": len(sample.src_sentences),
            "subword_tokens": n_tokens,
            "sample_seconds": round(t1 - t0, 2),
            "measure_seconds": round(t2 - t1, 2),
            "strong_fwd_L12": scores.scores[(12, "strong", "fwd")],
            "weak_fwd_L12": scores.scores[(12, "weak", "fwd")],
        }
        print(f"en-{lang}: {per_language[f'en-{lang}']}", flush=True)
    total = time.perf_counter() - t_all
    # Scoring alone (all 13 layers, both modes, plain cosine and CSLS) on the last sample's vectors.
    src, _ = first_subword_states(
        model, tok, sample.src_sentences, sample.src_sentence, sample.src_word, list(range(13))
    )
    tgt, _ = first_subword_states(
        model, tok, sample.tgt_sentences, sample.tgt_sentence, sample.tgt_word, list(range(13))
    )
    timing = {}
    for name, kwargs in {
        "cosine": {},
        "csls10": {"csls_k": 10},
        "csls10_centred": {"csls_k": 10, "center": True},
    }.items():
        t0 = time.perf_counter()
        for layer in range(13):
            for mode in ("weak", "strong"):
                retrieval_accuracy(src[layer], tgt[layer], mode, **kwargs)
        timing[name] = round(time.perf_counter() - t0, 3)
    result = {"total_seconds": round(total, 1), "languages": per_language, "scoring_seconds_13_layers_2_modes": timing}
    print(f"total {total:.1f}s for 5 languages x 1000 pairs x 13 hidden states; scoring only: {timing}")
    return result


def batch_sizes(catalog: DataCatalog) -> dict:
    model, tok = load()
    sample = sample_word_pairs(dictionary_aligned(catalog, "en-fr", "test", "un"), 1000, seed=0)
    out = {}
    for batch_size in (64, 16, 1):
        t0 = time.perf_counter()
        measure_alignment(model, tok, sample, batch_size=batch_size)
        out[str(batch_size)] = round(time.perf_counter() - t0, 2)
        print(f"batch size {batch_size}: {out[str(batch_size)]}s", flush=True)
    return {"en-fr_1000_pairs_seconds_by_batch_size": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", action="store_true", help="compare forward batch sizes on en-fr")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    catalog = DataCatalog()
    if args.batch:
        print(save("alignment_batch", batch_sizes(catalog)))
    else:
        print(save("alignment", full_measure(catalog)))


if __name__ == "__main__":
    main()
