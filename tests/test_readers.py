"""Every reader on small hand-written files, and every bad-input case of the foundation issue."""

from __future__ import annotations

import json

import pytest

from alignfreeze.data import (
    read_conllu,
    read_muse,
    read_panx,
    read_parallel,
    read_pharaoh,
    read_squad,
    read_xnli,
)
from alignfreeze.errors import DataFormatError
from conftest import write

CONLLU = (
    "# sent_id = s1\n# text = Du chat.\n"
    "1-2\tDu\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tDe\tde\tADP\t_\t_\t3\tcase\t_\t_\n"
    "2\tle\tle\tDET\t_\t_\t3\tdet\t_\t_\n"
    "3\tchat\tchat\tNOUN\t_\t_\t0\troot\t_\tSpaceAfter=No\n"
    "3.1\tvu\tvoir\tVERB\t_\t_\t_\t_\t0:root\t_\n"
    "4\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_\n"
    "\n"
    "# sent_id = s2\n"
    "1\tOui\toui\tINTJ\t_\t_\t0\troot\t_\t_\n"
)


def test_conllu_skips_ranges_and_empty_nodes(tmp_path):
    sents = read_conllu(write(tmp_path / "x.conllu", CONLLU))
    assert [s.words for s in sents] == [["De", "le", "chat", "."], ["Oui"]]
    assert sents[0].tags == ["ADP", "DET", "NOUN", "PUNCT"]
    assert sents[0].sent_id == "s1"


def test_conllu_wrong_column_count_names_file_and_line(tmp_path):
    bad = CONLLU.replace("2\tle\tle\tDET\t_\t_\t3\tdet\t_\t_", "2\tle\tle\tDET\t_\t_\t3")
    path = write(tmp_path / "bad.conllu", bad)
    with pytest.raises(DataFormatError) as err:
        read_conllu(path)
    assert str(err.value) == f"{path}:5: expected 10 tab-separated columns, found 7"


def test_panx_reads_sentences_and_strips_language_prefix(tmp_path):
    sents = read_panx(write(tmp_path / "dev-fr.tsv", "fr:Paris\tB-LOC\nest\tO\n\nJean\tB-PER\nDupont\tI-PER\n"))
    assert [s.words for s in sents] == [["Paris", "est"], ["Jean", "Dupont"]]
    assert sents[1].tags == ["B-PER", "I-PER"]


def test_panx_tag_outside_bio(tmp_path):
    path = write(tmp_path / "dev-fr.tsv", "Paris\tB-LOC\nest\tE-LOC\n")
    with pytest.raises(DataFormatError, match=r"dev-fr\.tsv:2: tag 'E-LOC' is not in the BIO scheme"):
        read_panx(path)


def test_xnli_reads_and_rejects_unknown_label(tmp_path):
    ok = read_xnli(write(tmp_path / "dev-en.tsv", "A man.\tA person.\tentailment\nA.\tB.\t2\n"))
    assert [e.label for e in ok] == ["entailment", "contradiction"]
    path = write(tmp_path / "bad.tsv", "A.\tB.\tneutral\nA.\tB.\tmaybe\n")
    with pytest.raises(
        DataFormatError, match=r"bad\.tsv:2: unknown NLI label 'maybe' \(allowed: entailment, neutral, contradiction\)"
    ):
        read_xnli(path)


def _squad(answer_start: int) -> str:
    doc = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": "Paris is the capital of France.",
                        "qas": [
                            {"id": "q1", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": 0}]},
                            {
                                "id": "q2",
                                "question": "Country?",
                                "answers": [{"text": "France", "answer_start": answer_start}],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    return json.dumps(doc, indent=1)


def test_squad_reads_and_checks_offsets(tmp_path):
    examples = read_squad(write(tmp_path / "ok.json", _squad(24)))
    assert [(e.id, e.answers[0].text, e.answers[0].start) for e in examples] == [
        ("q1", "Paris", 0),
        ("q2", "France", 24),
    ]
    path = write(tmp_path / "bad.json", _squad(23))
    with pytest.raises(DataFormatError) as err:
        read_squad(path)
    msg = str(err.value)
    assert (
        msg.startswith(f"{path}:") and "question 'q2'" in msg and "offset 23" in msg and "(context has ' Franc')" in msg
    )
    lines = _squad(23).split("\n")
    assert err.value.line == next(i for i, line in enumerate(lines, 1) if '"id": "q2"' in line)


def test_parallel_two_files_and_one_file(tmp_path):
    pairs = read_parallel(write(tmp_path / "a.en", "Hello .\nBye\n"), write(tmp_path / "a.fr", "Bonjour .\nSalut\n"))
    assert [(p.src, p.tgt) for p in pairs] == [("Hello .", "Bonjour ."), ("Bye", "Salut")]
    pairs = read_parallel(write(tmp_path / "a.txt", "Hello ||| Bonjour\nBye ||| Salut\n"))
    assert [(p.src, p.tgt) for p in pairs] == [("Hello", "Bonjour"), ("Bye", "Salut")]


def test_parallel_different_line_counts(tmp_path):
    src, tgt = write(tmp_path / "a.en", "1\n2\n3\n"), write(tmp_path / "a.fr", "1\n2\n")
    with pytest.raises(DataFormatError) as err:
        read_parallel(src, tgt)
    assert str(err.value) == f"{tgt}:3: parallel files differ in length: {src} has 3 lines, {tgt} has 2"


def test_muse_three_line_formats(tmp_path):
    entries = read_muse(write(tmp_path / "en-fr.txt", "the le\ncat\tchat\nla @ the\nthe le\n"))
    assert [(e.src, e.tgt) for e in entries] == [("the", "le"), ("cat", "chat"), ("the", "la")]


def test_pharaoh_sure_possible_and_base(tmp_path):
    path = write(tmp_path / "g.gold", "1-1 2p3\n\n")
    (links,) = read_pharaoh(path, one_based=True)[:1]
    assert links.sure == {(0, 0)} and links.possible == {(0, 0), (1, 2)}
    assert read_pharaoh(write(tmp_path / "z", "0\t0-0 1-2\n"), one_based=False)[0].sure == {(0, 0), (1, 2)}
    with pytest.raises(DataFormatError, match=r"g2:1: link '0-1' has index 0 but the file was declared 1-based"):
        read_pharaoh(write(tmp_path / "g2", "0-1\n"), one_based=True)
    with pytest.raises(DataFormatError, match=r"g3:1: bad link 'x-1'"):
        read_pharaoh(write(tmp_path / "g3", "x-1\n"), one_based=False)


READERS = [
    ("conllu", read_conllu),
    ("panx", read_panx),
    ("xnli", read_xnli),
    ("squad", read_squad),
    ("muse", read_muse),
    ("parallel", read_parallel),
    ("pharaoh", lambda p: read_pharaoh(p, one_based=False)),
]


@pytest.mark.parametrize("name,reader", READERS, ids=[r[0] for r in READERS])
def test_empty_file(tmp_path, name, reader):
    path = write(tmp_path / f"empty.{name}", "\n  \n")
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert str(err.value) == f"{path}: file is empty"


@pytest.mark.parametrize("name,reader", READERS, ids=[r[0] for r in READERS])
def test_missing_file(tmp_path, name, reader):
    path = tmp_path / "nope" / f"missing.{name}"
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert str(err.value) == f"{path}: file not found"


@pytest.mark.parametrize("name,reader", READERS, ids=[r[0] for r in READERS])
def test_bytes_that_are_not_utf8(tmp_path, name, reader):
    path = write(tmp_path / f"latin1.{name}", "first line\n".encode() + "caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert str(err.value).startswith(f"{path}:2: bytes that are not UTF-8")
