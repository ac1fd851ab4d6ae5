"""UD's multiword tokens and empty nodes under both protocols, read from a CoNLL-U file, from
the hub's parquet rows of the ``universal_dependencies`` loader, and from a fetched file.

The hand-made sentence has a multiword token (``du`` = ``de`` + ``le``) and an empty node
(``5.1``). Expected, by hand:

* ``multiword_tokens: drop``: ``Il parle de le chat .`` / ``PRON VERB ADP DET NOUN PUNCT``;
* ``keep_as_label``: ``Il parle du de le chat .`` / ``PRON VERB _ ADP DET NOUN PUNCT``, the
  surface form before its words, as the loader lists the lines (file order);
* the empty node (``parle`` again, a VERB) in neither.
"""

from __future__ import annotations

import conllu
import pytest

from alignfreeze.data.fetch import conllu_text
from alignfreeze.data.hub import load_hub_records, records_from_dataset
from alignfreeze.data.records import TaggedSentence
from alignfreeze.data.sources import DATA_SOURCES, HubSource
from alignfreeze.data.subwords import TokenizationSettings
from alignfreeze.data.ud import (
    MultiwordToken,
    UdSentence,
    multiword_extents,
    read_conllu,
    sentences_from_ud_rows,
    with_multiword_tokens,
)
from alignfreeze.errors import DataFormatError
from alignfreeze.evaluate import evaluate
from alignfreeze.experiments.config import PROTOCOLS
from alignfreeze.finetune import get_task
from conftest import write
from hub_mirror import UD_UPOS, XTREME_UPOS

SENTENCE = (
    "# sent_id = fr-1\n"
    "# text = Il parle du chat.\n"
    "1\tIl\til\tPRON\t_\t_\t2\tnsubj\t2:nsubj\t_\n"
    "2\tparle\tparler\tVERB\t_\t_\t0\troot\t0:root\t_\n"
    "3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "3\tde\tde\tADP\t_\t_\t5\tcase\t5:case\t_\n"
    "4\tle\tle\tDET\t_\t_\t5\tdet\t5:det\t_\n"
    "5\tchat\tchat\tNOUN\t_\t_\t2\tobl\t2:obl\tSpaceAfter=No\n"
    "5.1\tparle\tparler\tVERB\t_\t_\t_\t_\t2:conj\t_\n"
    "6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t2:punct\t_\n"
    "\n"
)
DROP = (["Il", "parle", "de", "le", "chat", "."], ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"])
KEEP = (["Il", "parle", "du", "de", "le", "chat", "."], ["PRON", "VERB", "_", "ADP", "DET", "NOUN", "PUNCT"])
DU = MultiwordToken(2, 4, "du")


def loader_rows(text: str) -> list[dict]:
    """The rows the ``universal_dependencies`` loader yields (``_generate_examples``): every
    line of ``conllu``'s parse, ranges and empty nodes included, columns as strings."""
    rows = []
    for k, sent in enumerate(conllu.parse(text)):
        rows.append(
            {
                "idx": str(sent.metadata.get("sent_id", k)),
                "text": sent.metadata.get("text", " ".join(t["form"] for t in sent)),
                "tokens": [t["form"] for t in sent],
                "upos": [UD_UPOS.index(t["upos"]) for t in sent],
                "head": [str(t["head"]) for t in sent],
                "deps": [str(t["deps"]) for t in sent],
            }
        )
    return rows


def ud_dataset(text: str):
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    rows = loader_rows(text)
    strings = Sequence(Value("string"))
    features = Features(
        {
            "idx": Value("string"),
            "text": Value("string"),
            "tokens": strings,
            "upos": Sequence(ClassLabel(names=UD_UPOS)),
            "head": strings,
            "deps": strings,
        }
    )
    return Dataset.from_dict({c: [r[c] for r in rows] for c in features}, features=features)


def words_and_tags(sentence) -> tuple[list[str], list[str]]:
    return sentence.words, sentence.tags


def pos_task(multiword_tokens: str):
    return get_task("pos", tokenization=TokenizationSettings(multiword_tokens=multiword_tokens))


def test_local_conllu_under_both_protocols(tmp_path):
    (sentence,) = read_conllu(write(tmp_path / "fr.conllu", SENTENCE))
    assert words_and_tags(sentence) == DROP and sentence.multiword == (DU,) and sentence.sent_id == "fr-1"
    (dropped,) = pos_task("drop").prepare_records([sentence], "fr")
    (kept,) = pos_task("keep_as_label").prepare_records([sentence], "fr")
    assert words_and_tags(dropped) == DROP
    assert words_and_tags(kept) == KEEP


def test_hub_rows_agree_with_the_conllu_reader(tmp_path):
    """The loader's rows hold the range (``du``, tagged ``_``, before ``de``) and the empty
    node (``parle``, VERB, no head): the range is kept aside, the empty node skipped, and the
    range's extent (2 words) read off the sentence's text."""
    rows = loader_rows(SENTENCE)
    assert rows[0]["tokens"] == ["Il", "parle", "du", "de", "le", "chat", "parle", "."]
    (sentence,) = records_from_dataset("pos", ud_dataset(SENTENCE))
    assert isinstance(sentence, UdSentence)
    assert sentence == read_conllu(write(tmp_path / "fr.conllu", SENTENCE))[0]
    assert words_and_tags(pos_task("keep_as_label").prepare_records([sentence], "fr")[0]) == KEEP


def test_hub_parquet_and_the_fetched_file(tmp_path, monkeypatch):
    """Through the hub's parquet layout (a local mirror), then written as ``alignfreeze fetch``
    writes it: the range line comes back, so the fetched file reads as the original."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    mirror = tmp_path / "mirror"
    ud = DATA_SOURCES["ud"]
    folder = mirror / ud.hub.path / "fr_gsd" / "test"
    folder.mkdir(parents=True)
    ud_dataset(SENTENCE).to_parquet(str(folder / "0000.parquet"))
    hub = HubSource(ud.hub.path, None, "test", revision=ud.hub.revision, data_dir="fr_gsd")
    (sentence,) = load_hub_records("pos", hub, mirror)
    assert words_and_tags(sentence) == DROP and sentence.multiword == (DU,)
    text = conllu_text([sentence])
    assert "3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n3\tde\t_\tADP\t" in text
    (again,) = read_conllu(write(tmp_path / "fetched.conllu", text))
    assert again == sentence


def test_a_text_that_does_not_line_up_gives_a_guessed_extent():
    """A row whose text differs from its forms: the range's place is known, its extent is a
    guess of two words, said so in the fetched file's MISC."""
    (row,) = loader_rows(SENTENCE)
    row["text"] = "Il parle au chat."
    row["upos"] = [UD_UPOS[t] for t in row["upos"]]
    (sentence,) = sentences_from_ud_rows([row], None)
    assert sentence.multiword == (MultiwordToken(2, 4, "du", guessed=True),)
    assert "3-4\tdu\t_\t_\t_\t_\t_\t_\t_\tSpanGuessed=Yes" in conllu_text([sentence])
    assert words_and_tags(with_multiword_tokens(sentence)) == KEEP


def test_multiword_extents_by_hand():
    # "du" over two words; the shortest extent that spells the text wins ("du le": de+le, le).
    assert multiword_extents("Il parle du chat.", [("Il", 0), ("parle", 0), ("du", 1), ("de", 0), ("le", 0),
                                                    ("chat", 0), (".", 0)]) == [2]  # fmt: skip
    assert multiword_extents("du le", [("du", 1), ("de", 0), ("le", 0), ("le", 0)]) == [2]
    # Spanish "dámelo" = da + me + lo, then "al" = a + el.
    tokens = [("Dámelo", 1), ("da", 0), ("me", 0), ("lo", 0), ("al", 1), ("a", 0), ("el", 0), ("fin", 0)]
    assert multiword_extents("Dámelo al fin", tokens) == [3, 2]
    assert multiword_extents("Dámelo fin", tokens) is None


def test_ranges_must_cover_words_of_the_sentence(tmp_path):
    bad = SENTENCE.replace("3-4\tdu", "3-9\tdu")
    with pytest.raises(DataFormatError, match=r"fr\.conllu:5: multiword token 3-9 covers words the sentence lacks"):
        read_conllu(write(tmp_path / "fr.conllu", bad))


def test_xtreme_udpos_has_no_range_to_keep():
    """XTREME's udpos rows (its script keeps a line only when FORM and UPOS are not ``_``)
    hold no multiword token: both settings read the same words."""
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    features = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=XTREME_UPOS))})
    ds = Dataset.from_dict({"tokens": [DROP[0]], "pos_tags": [[XTREME_UPOS.index(t) for t in DROP[1]]]}, features)
    (sentence,) = records_from_dataset("pos", ds)
    assert words_and_tags(pos_task("keep_as_label").prepare_records([sentence], "fr")[0]) == DROP


def test_the_18th_label_is_trained_and_scored(tmp_path, xlmr_tokenizer):
    """``keep_as_label``: 18 labels, ``du`` trained on as ``_`` at its first subword, and
    scored: 7 words evaluated instead of 6."""
    from transformers import AutoModelForTokenClassification

    from tiny_models import tiny_config

    sentences = read_conllu(write(tmp_path / "fr.conllu", SENTENCE))
    drop, keep = pos_task("drop"), pos_task("keep_as_label")
    assert len(drop.label_list(sentences)) == 17 and "_" not in drop.label_list(sentences)
    labels = keep.label_list(sentences)
    assert len(labels) == 18 and "_" in labels
    (feature,) = keep.encode(sentences, xlmr_tokenizer, 32, labels)
    scored = [labels[t] for t in feature["labels"] if t != -100]
    assert scored == KEEP[1]
    config = tiny_config(vocab_size=250037, layers=1)
    config.num_labels = len(labels)
    model = AutoModelForTokenClassification.from_config(config)
    assert evaluate(keep, model, xlmr_tokenizer, sentences, "fr", 32, 8, labels).diagnostics["words"] == 7
    assert evaluate(drop, model, xlmr_tokenizer, sentences, "fr", 32, 8, labels).diagnostics["words"] == 6


def test_reference_protocol_keeps_them_and_the_default_stays_out_of_run_ids():
    assert PROTOCOLS["reference"]["tokenization"]["multiword_tokens"] == "keep_as_label"
    assert TokenizationSettings().multiword_tokens == "drop"
    from alignfreeze.schema import identity_values

    settings = TokenizationSettings()
    assert "multiword_tokens" not in identity_values(settings, settings.model_dump(mode="json"))
    kept = TokenizationSettings(multiword_tokens="keep_as_label")
    assert identity_values(kept, kept.model_dump(mode="json"))["multiword_tokens"] == "keep_as_label"


@pytest.mark.integration
def test_real_treebanks_read_the_same_from_the_loader_rows(shared_data):
    """Every bundled UD file, through the loader's rows: the same words, tags, sentence ids
    and multiword tokens (extents included) as the CoNLL-U reader's; empty nodes skipped."""
    checked = 0
    for path in sorted((shared_data / "ud").glob("*.conllu")):
        if not any(name in path.name for name in ("fr_pud", "en_ewt-ud-dev", "en_pud")):
            continue  # the files with multiword tokens and empty nodes
        text = path.read_text(encoding="utf-8")
        local = read_conllu(path)
        rows = loader_rows(text)
        for row in rows:
            row["upos"] = [UD_UPOS[t] for t in row["upos"]]
        assert sentences_from_ud_rows(rows, None) == local, path.name
        checked += sum(len(s.multiword) for s in local)
    assert checked > 1000


def test_a_plain_tagged_sentence_is_left_as_it_is():
    plain = TaggedSentence(["a"], ["DET"])
    assert with_multiword_tokens(plain) is plain
