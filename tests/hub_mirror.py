"""A local mirror of the hub's dataset repositories, laid out and named as they are (their
``README.md`` ``configs:`` block and ``<config>/<split>-00000-of-00001.parquet`` files; UD's
``refs/convert/parquet`` branch as ``<treebank>/<split>/0000.parquet``), and a server on
127.0.0.1 that stands in for download URLs (with HTTP range requests, to test resuming).

The content is tiny and hand-made; the layouts and the features (ClassLabel names in the
datasets' own order) follow the dataset cards cited in the README's "Fetching data" section
and in ``alignfreeze/data/hub_configs.json``, which also lists every configuration and split
the mirror holds (a test checks it).
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

# google/xtreme udpos pos_tags (alphabetical) and UD's upos (its own order, with "_" for
# multiword tokens): the loader must read labels by name.
XTREME_UPOS = [
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ",
    "SYM", "VERB", "X",
]  # fmt: skip
UD_UPOS = [
    "NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN", "PRON", "X", "_", "ADV",
    "INTJ", "VERB", "AUX",
]  # fmt: skip
# WikiANN ner_tags, in the order of the card (and of the authors' get_wikiann_metric_fn).
NER_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
NLI_LABELS = ["entailment", "neutral", "contradiction"]

EN = ["the cat sees the dog", "a big dog runs", "the red car", "a cat eats", "the house is big", "a dog sees a car"]
FR = ["le chat voit le chien", "un grand chien court", "la voiture rouge", "un chat mange", "la maison est grande"]
FR += ["un chien voit une voiture"]
TAGS = {
    "the": "DET", "a": "DET", "le": "DET", "la": "DET", "un": "DET", "une": "DET", "cat": "NOUN", "chat": "NOUN",
    "dog": "NOUN", "chien": "NOUN", "car": "NOUN", "voiture": "NOUN", "house": "NOUN", "maison": "NOUN",
    "sees": "VERB", "voit": "VERB", "runs": "VERB", "court": "VERB", "eats": "VERB", "mange": "VERB", "is": "AUX",
    "est": "AUX", "big": "ADJ", "grand": "ADJ", "grande": "ADJ", "red": "ADJ", "rouge": "ADJ",
}  # fmt: skip


def _configs_readme(configs: dict[str, list[str]]) -> str:
    """A dataset card whose ``configs:`` block maps each configuration to its parquet files."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        # Quoted, as the cards quote 'no' (Norwegian), which YAML would read as false.
        lines += [f"- config_name: '{name}'", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {name}/{split}-*" for split in splits]
    return "\n".join(lines + ["---", "", "A local mirror for tests.", ""])


def _write(ds, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(path))


def _tagged(sentences: list[str], names: list[str], column: str, multiword: bool = False):
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    tokens, tags = [], []
    for s in sentences:
        words = s.split()
        tokens.append(words)
        tags.append([names.index(TAGS[w]) for w in words])
    if multiword:  # UD's parquet keeps a multiword token's surface form, tagged "_", before its parts
        tokens.append(["du", "de", "le", "chat"])
        tags.append([names.index("_"), names.index("ADP"), names.index("DET"), names.index("NOUN")])
    features = Features({"tokens": Sequence(Value("string")), column: Sequence(ClassLabel(names=names))})
    return Dataset.from_dict({"tokens": tokens, column: tags}, features=features)


def build_hub_mirror(root: Path) -> Path:
    """Every repository ``alignfreeze fetch`` reads, with English and French content."""
    from datasets import ClassLabel, Dataset, Features, Sequence, Translation, Value

    ud = root / "universal-dependencies" / "universal_dependencies"
    _write(_tagged(EN * 4, UD_UPOS, "upos"), ud / "en_ewt" / "train" / "0000.parquet")
    _write(_tagged(EN, UD_UPOS, "upos"), ud / "en_ewt" / "test" / "0000.parquet")
    _write(_tagged(FR, UD_UPOS, "upos", multiword=True), ud / "fr_gsd" / "test" / "0000.parquet")

    xtreme = root / "google" / "xtreme"
    (xtreme / "README.md").parent.mkdir(parents=True, exist_ok=True)
    (xtreme / "README.md").write_text(_configs_readme({"udpos.French": ["test"]}))
    _write(_tagged(FR, XTREME_UPOS, "pos_tags"), xtreme / "udpos.French" / "test-00000-of-00001.parquet")

    # WikiANN as unimelb-nlp/wikiann's main branch has it since its script was removed: a
    # configuration per language code, tokens without the "fr:" prefix of the raw files, the
    # language of each token in langs, and the entities as "TAG: mention" in spans.
    wikiann = root / "unimelb-nlp" / "wikiann"
    wikiann.mkdir(parents=True, exist_ok=True)
    (wikiann / "README.md").write_text(_configs_readme({"fr": ["test"]}))
    ner = Dataset.from_dict(
        {
            "tokens": [["Paris", "est", "grande"], ["Jean", "Dupont", "court"]],
            "ner_tags": [[5, 0, 0], [1, 2, 0]],
            "langs": [["fr"] * 3, ["fr"] * 3],
            "spans": [["LOC: Paris"], ["PER: Jean Dupont"]],
        },
        features=Features(
            {
                "tokens": Sequence(Value("string")),
                "ner_tags": Sequence(ClassLabel(names=NER_TAGS)),
                "langs": Sequence(Value("string")),
                "spans": Sequence(Value("string")),
            }
        ),
    )
    _write(ner, wikiann / "fr" / "test-00000-of-00001.parquet")

    xnli = root / "facebook" / "xnli"
    xnli.mkdir(parents=True, exist_ok=True)
    (xnli / "README.md").write_text(_configs_readme({"fr": ["test"]}))
    nli = Dataset.from_dict(
        {
            "premise": ["le chat court", "un chien mange"],
            "hypothesis": ["un chat court", "le chat dort"],
            "label": [0, 2],
        },
        features=Features(
            {"premise": Value("string"), "hypothesis": Value("string"), "label": ClassLabel(names=NLI_LABELS)}
        ),
    )
    _write(nli, xnli / "fr" / "test-00000-of-00001.parquet")

    qa_features = Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")}),
        }
    )
    context = "Le chat de Marie dort dans la maison."
    qa = {
        "id": ["q1"],
        "title": ["Chat"],
        "context": [context],
        "question": ["Où dort le chat ?"],
        "answers": [{"text": ["dans la maison"], "answer_start": [context.index("dans la maison")]}],
    }
    # XQuAD has no French (its 12 languages: hub_configs.json): the mirror's XQuAD is Spanish.
    contexto = "El gato de María duerme en la casa."
    xquad_es = {
        "id": ["q1"],
        "title": ["Gato"],
        "context": [contexto],
        "question": ["¿Dónde duerme el gato?"],
        "answers": [{"text": ["en la casa"], "answer_start": [contexto.index("en la casa")]}],
    }
    xquad = root / "google" / "xquad"
    xquad.mkdir(parents=True, exist_ok=True)
    (xquad / "README.md").write_text(_configs_readme({"xquad.es": ["validation"]}))
    _write(Dataset.from_dict(xquad_es, features=qa_features), xquad / "xquad.es" / "validation-00000-of-00001.parquet")
    squad = root / "rajpurkar" / "squad"
    squad.mkdir(parents=True, exist_ok=True)
    (squad / "README.md").write_text(_configs_readme({"plain_text": ["train", "validation"]}))
    for split in ("train", "validation"):
        _write(Dataset.from_dict(qa, features=qa_features), squad / "plain_text" / f"{split}-00000-of-00001.parquet")

    opus = root / "Helsinki-NLP" / "opus-100"
    opus.mkdir(parents=True, exist_ok=True)
    (opus / "README.md").write_text(_configs_readme({"en-fr": ["train", "validation", "test"]}))
    translation = Dataset.from_dict(
        {"translation": [{"en": e, "fr": f} for e, f in zip(EN * 5, FR * 5)]},
        features=Features({"translation": Translation(languages=["en", "fr"])}),
    )
    for split in ("train", "validation", "test"):
        _write(translation, opus / "en-fr" / f"{split}-00000-of-00001.parquet")

    # XTREME-R udpos as izhx/xtreme-r-udpos has it: <lang>/test.parquet, found by the card's
    # configs block (path: <lang>/test*), tags named in XTREME's order.
    xtreme_r = root / "izhx" / "xtreme-r-udpos"
    xtreme_r.mkdir(parents=True, exist_ok=True)
    card = "---\nconfigs:\n- config_name: fr\n  data_files:\n  - split: test\n    path: fr/test*\n---\n"
    (xtreme_r / "README.md").write_text(card)
    _write(_tagged(FR, XTREME_UPOS, "pos_tags"), xtreme_r / "fr" / "test.parquet")
    return root


#: Where allenai/nllb's loading script reads each pair's TSV (a URL server stands in for it).
NLLB_URL_PATH = "storage.googleapis.com/allennlp-data-bucket/nllb"
HA = ["kyanwa tana ganin kare", "babban kare yana gudu", "mota ja", "kyanwa tana ci"]


def build_nllb_urls(root: Path) -> Path:
    """NLLB's files as its bucket serves them: ``<pair>.gz``, a gzipped TSV per pair named in
    the card's order, the sentence in the pair's first language first, then the LASER score,
    the two language-id scores and the sources and URLs (the card's Data Fields).
    ``amh_Ethi-eng_Latn`` puts the non-English side first, ``eng_Latn-hau_Latn`` English."""
    import gzip

    folder = root / NLLB_URL_PATH
    folder.mkdir(parents=True, exist_ok=True)
    tail = "\t1.07\t0.99\t0.98\tcrawl-data/x\thttp://a\tcrawl-data/y\thttp://b"
    with gzip.open(folder / "eng_Latn-hau_Latn.gz", "wt", encoding="utf-8") as out:
        out.writelines(f"{e}\t{h}{tail}\n" for e, h in zip(EN, HA))
    with gzip.open(folder / "amh_Ethi-eng_Latn.gz", "wt", encoding="utf-8") as out:
        out.writelines(f"am {k}\t{e}{tail}\n" for k, e in enumerate(EN[:3]))
    return root


def mirrored_configs(root: Path) -> dict[str, dict[str, list[str]]]:
    """``{repository: {configuration: splits}}`` of a mirror, read from its files as ``datasets``
    would: each card's ``configs:`` block (every path in it matching a file), and UD's parquet
    branch by its ``<treebank>/<split>/`` folders."""
    import yaml

    found: dict[str, dict[str, list[str]]] = {}
    for card in sorted(root.glob("*/*/README.md")):
        repo = card.parent
        block = yaml.safe_load(card.read_text().split("---")[1])["configs"]
        configs = found.setdefault(repo.relative_to(root).as_posix(), {})
        for config in block:
            for data in config["data_files"]:
                assert list(repo.glob(data["path"])), f"{card}: {data['path']} matches no file"
                configs.setdefault(config["config_name"], []).append(data["split"])
    ud = root / "universal-dependencies" / "universal_dependencies"
    found[ud.relative_to(root).as_posix()] = {
        treebank.name: sorted(split.name for split in treebank.iterdir()) for treebank in sorted(ud.iterdir())
    }
    return found


def muse_text() -> str:
    pairs = [(e, f) for se, sf in zip(EN, FR) for e, f in zip(se.split(), sf.split())]
    return "".join(f"{e} {f}\n" for e, f in dict.fromkeys(pairs))


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with ``Range: bytes=N-`` support (206), and records the ranges asked."""

    ranges: list[str] = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        asked = self.headers.get("Range")
        type(self).ranges.append(asked or "")
        start = int(asked.split("=")[1].split("-")[0]) if asked else 0
        self.send_response(206 if asked else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


class UrlServer:
    """``with UrlServer(folder) as base:``: ``folder`` served at ``base`` on 127.0.0.1."""

    def __init__(self, folder: Path):
        handler = type("Handler", (_RangeHandler,), {"ranges": []})
        self.handler = handler
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), lambda *a, **k: handler(*a, directory=str(folder), **k)
        )

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
