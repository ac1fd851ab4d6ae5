"""The catalog finds data by pattern, for any language, and says where it looked."""

from __future__ import annotations

import pytest

from alignfreeze.data import DataCatalog
from alignfreeze.errors import AlignfreezeError
from conftest import write

ROW = "1\tx\tx\tNOUN\t_\t_\t0\troot\t_\t_\n"


def test_custom_root_with_new_languages(tmp_path):
    write(tmp_path / "ud" / "UD_Swahili-X" / "sw_x-ud-test.conllu", ROW)
    write(tmp_path / "ud" / "de_gsd-ud-test.conllu", ROW)
    write(tmp_path / "ud" / "de_hdt-ud-test.conllu", ROW + "\n" + ROW)
    write(tmp_path / "panx" / "test-sw.tsv", "a\tO\n")
    write(tmp_path / "xnli" / "test-sw.tsv", "a\tb\tneutral\n")
    write(tmp_path / "par" / "UNv1.0.devset.en", "a\n")
    write(tmp_path / "par" / "UNv1.0.devset.de", "b\n")
    write(tmp_path / "tatoeba" / "tatoeba.deu-eng.deu", "b\n")
    write(tmp_path / "tatoeba" / "tatoeba.deu-eng.eng", "a\n")
    write(tmp_path / "dict" / "en-de.0-5000.txt", "a b\n")
    c = DataCatalog(tmp_path)
    assert c.find("pos", "sw", "test").load()[0].tags == ["NOUN"]
    assert len(c.find("pos", "de", "test").load()) == 3  # both treebanks, XTREME-style
    assert len(c.find("pos", "de", "test", dataset="hdt").load()) == 2
    assert c.find("ner", "sw", "test").load()[0].tags == ["O"]
    assert c.find("nli", "sw", "test").load()[0].label == "neutral"
    assert [p.name for p in c.find("parallel", "en-de", "dev", dataset="un").files] == [
        "UNv1.0.devset.en",
        "UNv1.0.devset.de",
    ]
    assert [p.name for p in c.find("parallel", "en-de", "test", dataset="tatoeba").files] == [
        "tatoeba.deu-eng.eng",
        "tatoeba.deu-eng.deu",
    ]
    assert c.find("dictionary", "en-de", "0-5000").files[0].name == "en-de.0-5000.txt"
    inv = c.inventory()
    assert inv["pos"]["de"] == ["gsd:test", "hdt:test"] and inv["parallel"]["en-de"] == ["tatoeba:test", "un:dev"]


def test_missing_language_names_the_path(tmp_path):
    with pytest.raises(AlignfreezeError) as err:
        DataCatalog(tmp_path).find("nli", "sw", "test", allow_hub=False)
    assert f"{tmp_path}/**/xnli/test-sw.tsv" in str(err.value)


def test_hub_fallback_when_no_local_file(tmp_path):
    src = DataCatalog(tmp_path).find("pos", "de", "dev")
    assert (src.hub.path, src.hub.name, src.hub.split) == ("google/xtreme", "udpos.German", "validation")
    assert DataCatalog(tmp_path).find("qa", "ro", "test").hub.name == "xquad.ro"


def test_unknown_kind(tmp_path):
    with pytest.raises(AlignfreezeError, match="unknown data kind 'sts'"):
        DataCatalog(tmp_path).find("sts", "en", "test")


def test_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNFREEZE_DATA", str(tmp_path))
    assert DataCatalog().root == tmp_path
    assert DataCatalog(tmp_path / "x").root == tmp_path / "x"
