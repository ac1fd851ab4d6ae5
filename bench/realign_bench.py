"""Realignment-engine benchmarks (issue: realignment engine).

    python bench/realign_bench.py step       # step cost: realign vs bare, front vs full
    python bench/realign_bench.py memory     # peak memory of a 200-step realignment
    python bench/realign_bench.py aligners   # embedding aligner vs simalign: AER and speed

Setting: e5-small, 2 torch threads, 16 sentence pairs of about 64 subwords per side (UN
dev en-fr, dictionary-aligned), runs alternating in one process, medians reported.
Results are printed and written to bench/results/*.json with the machine they ran on.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alignfreeze.align import DictionaryAligner, EmbeddingAligner, align_corpus, alignment_scores  # noqa: E402
from alignfreeze.data import DataCatalog, read_muse, read_parallel, read_pharaoh  # noqa: E402
from alignfreeze.models import resolve_model  # noqa: E402
from common import alternate, machine, save  # noqa: E402


def dictionary_corpus(catalog: DataCatalog, lang: str):
    pairs = read_parallel(*catalog.find("parallel", f"en-{lang}", "dev", dataset="un").files)
    aligner = DictionaryAligner(read_muse(catalog.find("dictionary", f"en-{lang}", "full").files[0]))
    return align_corpus(pairs, aligner, "en", lang)


def load_e5():
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model("e5-small")
    return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def bench_step(rounds: int) -> dict:
    from alignfreeze.realign import RealignConfig, RealignmentObjective, frozen
    from alignfreeze.realign.batches import collate, encode_corpus
    from alignfreeze.realign.trainer import make_optimizer

    torch.set_num_threads(2)
    catalog = DataCatalog()
    model, tok = load_e5()
    model.train()
    corpus = dictionary_corpus(catalog, "fr")
    encoded = encode_corpus(corpus, tok, max_length=96)
    near_64 = [p for p in encoded if 56 <= len(p.src_ids) <= 72 and 56 <= len(p.tgt_ids) <= 72][:16]
    batch = collate(near_64, tok.pad_token_id, "en-fr")
    config = RealignConfig(batch_size=16)
    objective = RealignmentObjective(model, tok, [corpus], config)

    opt_bare = make_optimizer(model.parameters(), 2e-5, 0.01)
    opt_full = make_optimizer(list(model.parameters()) + list(objective.head.parameters()), 2e-5, 0.01)

    def bare():
        out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        out.last_hidden_state.pow(2).mean().backward()
        opt_bare.step()
        opt_bare.zero_grad(set_to_none=True)

    def full():
        objective.loss(model, batch).backward()
        opt_full.step()
        opt_full.zero_grad(set_to_none=True)

    def frozen_step(spec: str):
        with frozen(model, spec):
            opt = make_optimizer(
                [p for p in model.parameters() if p.requires_grad] + list(objective.head.parameters()), 2e-5, 0.01
            )

        def step():
            with frozen(model, spec):
                objective.loss(model, batch).backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

        return step

    steps = {
        "bare": bare,
        "realign": full,
        "realign_front": frozen_step("front"),
        "realign_front+embeddings": frozen_step("front+embeddings"),
    }
    times = alternate(steps, rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "batch": {
            "pairs": len(near_64),
            "sequences": int(batch.input_ids.shape[0]),
            "padded_length": int(batch.input_ids.shape[1]),
            "links": int(batch.links.shape[0]),
        },
        "rounds": rounds,
        "median_seconds": med,
        "all_seconds": times,
        "realign_over_bare": med["realign"] / med["bare"],
        "front_over_full": med["realign_front"] / med["realign"],
        "front_embeddings_over_full": med["realign_front+embeddings"] / med["realign"],
    }
    print(f"batch: {result['batch']}")
    for k, v in med.items():
        print(f"{k:>25}: {v:.3f} s/step (median of {rounds})")
    print(
        f"realign / bare = {result['realign_over_bare']:.3f}   front / full = {result['front_over_full']:.3f}   "
        f"front+embeddings / full = {result['front_embeddings_over_full']:.3f}"
    )
    return result


def bench_memory(steps: int) -> dict:
    from alignfreeze.realign import RealignConfig, realign

    torch.set_num_threads(2)
    catalog = DataCatalog()
    corpora = [dictionary_corpus(catalog, lang) for lang in ("fr", "zh", "ar")]
    model, tok = load_e5()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = realign(model, tok, corpora, RealignConfig(steps=steps), freeze="front")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "steps": steps,
        "freeze": "front",
        "peak_rss_mib": peak,
        "rss_after_model_load_mib": rss_before,
        "seconds": result.seconds,
        "seconds_per_step": result.seconds / steps,
        "loss_first10": sum(result.losses[:10]) / 10,
        "loss_last10": sum(result.losses[-10:]) / 10,
    }
    print(out)
    return out


GOLD = {"en-fr": ("enfr", True), "zh-en": ("zhen", True), "ro-en": ("roen", True)}


def bench_aligners(layer: int) -> dict:
    from simalign import SentenceAligner

    torch.set_num_threads(2)
    root = DataCatalog().root / "gold_align"
    path = resolve_model("e5-small")
    ours = {m: EmbeddingAligner("e5-small", layer=layer, method=m) for m in ("argmax", "itermax")}
    theirs = SentenceAligner(model=path, token_type="bpe", matching_methods="ai", layer=layer, device="cpu")
    rows = []
    for pair, (stem, one_based) in GOLD.items():
        sents = read_parallel(root / f"{stem}.src-tgt")
        gold = read_pharaoh(root / f"{stem}.gold", one_based=one_based)
        src = [s.src.split() for s in sents]
        tgt = [s.tgt.split() for s in sents]
        for aligner in ours.values():  # load + warm up each before timing
            aligner.align_words(src[:8], tgt[:8])
        theirs.get_word_aligns(src[0], tgt[0])
        t0 = time.perf_counter()
        sim = [theirs.get_word_aligns(s, t) for s, t in zip(src, tgt)]
        t_sim = time.perf_counter() - t0
        for method, key in (("argmax", "inter"), ("itermax", "itermax")):
            t0 = time.perf_counter()
            pred = ours[method].align_words(src, tgt)
            t_ours = time.perf_counter() - t0
            row = {
                "pair": pair,
                "method": method,
                "sentences": len(sents),
                "aer_ours": alignment_scores(gold, pred).aer,
                "aer_simalign": alignment_scores(gold, [r[key] for r in sim]).aer,
                "pairs_per_s_ours": len(sents) / t_ours,
                "pairs_per_s_simalign": len(sents) / t_sim,
            }
            row["speedup"] = row["pairs_per_s_ours"] / row["pairs_per_s_simalign"]
            rows.append(row)
            print(
                f"{pair} {method:8s} AER ours {row['aer_ours']:.3f} simalign {row['aer_simalign']:.3f} | "
                f"pairs/s ours {row['pairs_per_s_ours']:.1f} simalign {row['pairs_per_s_simalign']:.1f} "
                f"(x{row['speedup']:.1f})"
            )
    return {
        "layer": layer,
        "note": "simalign time covers both its argmax and itermax (computed together)",
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["step", "memory", "aligners"])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--layer", type=int, default=8)
    args = parser.parse_args()
    print(machine())
    if args.what == "step":
        path = save("realign_step", bench_step(args.rounds))
    elif args.what == "memory":
        path = save("realign_memory", bench_memory(args.steps))
    else:
        path = save("aligners", bench_aligners(args.layer))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
