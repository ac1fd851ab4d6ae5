"""A tiny data root in the catalog's layout and a tiny model on disk, for run tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

from conftest import write

WORDS = {
    "NOUN": ["cat", "dog", "house", "car"],
    "VERB": ["runs", "sees", "eats"],
    "DET": ["the", "a"],
    "ADJ": ["red", "big"],
}
FR = {
    "cat": "chat",
    "dog": "chien",
    "house": "maison",
    "car": "voiture",
    "runs": "court",
    "sees": "voit",
    "eats": "mange",
    "the": "le",
    "a": "un",
    "red": "rouge",
    "big": "grand",
}


def conllu(n: int, seed: int, translate: bool = False) -> str:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        pattern = [("DET", None), ("ADJ", None), ("NOUN", None), ("VERB", None)][: rng.randint(3, 4)]
        out.append(f"# sent_id = s{k}")
        for i, (tag, _) in enumerate(pattern, start=1):
            word = rng.choice(WORDS[tag])
            out.append(f"{i}\t{FR[word] if translate else word}\t_\t{tag}\t_\t_\t0\tdep\t_\t_")
        out.append("")
    return "\n".join(out) + "\n"


def make_data_root(root: Path) -> Path:
    write(root / "ud" / "en_toy-ud-train.conllu", conllu(40, 0))
    write(root / "ud" / "en_toy-ud-test.conllu", conllu(10, 1))
    write(root / "ud" / "fr_toy-ud-test.conllu", conllu(10, 2, translate=True))
    src = [" ".join(random.Random(i).sample(sorted(FR), 4)) for i in range(30)]
    write(root / "parallel" / "UNv1.0.devset.en", "\n".join(src) + "\n")
    write(root / "parallel" / "UNv1.0.devset.fr", "\n".join(" ".join(FR[w] for w in s.split()) for s in src) + "\n")
    held_out = [" ".join(random.Random(1000 + i).sample(sorted(FR), 5)) for i in range(30)]
    write(root / "parallel" / "UNv1.0.testset.en", "\n".join(held_out) + "\n")
    write(
        root / "parallel" / "UNv1.0.testset.fr", "\n".join(" ".join(FR[w] for w in s.split()) for s in held_out) + "\n"
    )
    write(root / "muse" / "en-fr.txt", "".join(f"{e} {f}\n" for e, f in FR.items()))
    return root


def make_tiny_model(folder: Path, tokenizer) -> Path:
    from tiny_models import tiny_model

    if (folder / "config.json").exists():
        return folder
    tiny_model(layers=2, hidden=32).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def experiment_yaml(path: Path, model: Path, methods: list[dict], **extra) -> Path:
    config = {
        "name": "toy",
        "model": str(model),
        "task": "pos",
        "methods": methods,
        "seeds": [0],
        "train": {"language": "en", "split": "train", "dataset": "toy"},
        "eval": [{"language": "en", "split": "test", "dataset": "toy"}],
        "eval_languages": ["fr"],
        "eval_dataset": "toy",
        "realignment_pairs": [{"pair": "en-fr", "dataset": "un", "split": "dev"}],
        "realignment": {"steps": 2, "batch_size": 4},
        "training": {"epochs": 1, "batch_size": 8, "micro_batch_size": 4, "learning_rate": 1e-3},
        **extra,
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path
