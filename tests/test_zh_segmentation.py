"""WikiANN Chinese re-segmented into words (``tokenization.zh_ner_segmentation``), the
reference code's relabelling (``lang_preprocessing.py`` 22-68) checked by hand.

The rules, on one segmenter word at a time: a B- tag starts a piece; a character joins the
piece when its tag is the piece's, or the piece's is B-X and its is I-X; any other tag starts
a piece; each piece is tagged as its first character."""

from __future__ import annotations

import sys

import pytest

from alignfreeze.data.panx import _jieba, chinese_segmenter, resegment_chinese
from alignfreeze.data.records import TaggedSentence
from alignfreeze.data.subwords import TokenizationSettings
from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.config import PROTOCOLS
from alignfreeze.finetune import get_task


def chars(text: str, tags: str) -> TaggedSentence:
    return TaggedSentence(list(text), tags.split())


def fixed(*words: str):
    """A segmenter that gives these words (for runs they spell), and records what it was asked."""
    asked: list[str] = []

    def segment(text: str) -> list[str]:
        asked.append(text)
        out, rest = [], text
        for word in words:
            if rest.startswith(word):
                out.append(word)
                rest = rest[len(word) :]
        return out + list(rest)

    segment.asked = asked
    return segment


def test_words_are_cut_where_their_tags_part():
    # 北京大学 (an organisation), then words that cross entity edges: 的李 (O | B-PER) and
    # 明说 (I-PER | O).
    sentence = chars("北京大学的李明说", "B-ORG I-ORG I-ORG I-ORG O B-PER I-PER O")
    out = resegment_chinese(sentence, fixed("北京大学", "的李", "明说"))
    assert out.words == ["北京大学", "的", "李", "明", "说"]
    assert out.tags == ["B-ORG", "O", "B-PER", "I-PER", "O"]


def test_b_after_b_and_i_of_another_type_start_pieces():
    sentence = chars("甲乙丙丁戊", "B-LOC B-LOC I-PER I-PER O")
    out = resegment_chinese(sentence, fixed("甲乙丙丁戊"))
    # 甲 B-LOC | 乙 B-LOC (a B- starts a piece) | 丙丁 I-PER (I-PER is neither B-LOC nor I-LOC;
    # 丁 joins the same tag) | 戊 O
    assert out.words == ["甲", "乙", "丙丁", "戊"]
    assert out.tags == ["B-LOC", "B-LOC", "I-PER", "O"]


def test_other_tokens_stay_and_cut_the_runs():
    """WikiANN's few ``None`` tokens and "。" are kept as they are; the text around them is
    segmented apart, as the reference segments the parts between two "。" apart."""
    sentence = TaggedSentence(["中", "国", "None", "人", "。", "好"], ["B-LOC", "I-LOC", "O", "O", "O", "O"])
    segment = fixed("中国")
    out = resegment_chinese(sentence, segment)
    assert segment.asked == ["中国", "人", "好"]
    assert out.words == ["中国", "None", "人", "。", "好"]
    assert out.tags == ["B-LOC", "O", "O", "O", "O"]


def test_a_segmenter_that_changes_the_text_is_an_error():
    with pytest.raises(AlignfreezeError, match="changed the text"):
        resegment_chinese(chars("中国", "O O"), lambda text: ["中"])


def test_ner_task_resegments_chinese_only():
    settings = TokenizationSettings(zh_ner_segmentation="jieba")
    task = get_task("ner", tokenization=settings)
    french = [TaggedSentence(["Paris"], ["B-LOC"])]
    assert task.prepare_records(french, "fr") is french
    plain = get_task("ner")
    sentence = chars("北京", "B-LOC I-LOC")
    assert plain.prepare_records([sentence], "zh") == [sentence]
    assert plain.encoding_settings() != task.encoding_settings()


def test_jieba_words_by_hand():
    pytest.importorskip("jieba", reason="the zh extra (jieba) is not installed")
    # jieba's own example sentence: 我 爱 北京 天安门.
    sentence = chars("我爱北京天安门", "O O B-LOC I-LOC B-LOC I-LOC I-LOC")
    out = resegment_chinese(sentence, chinese_segmenter("jieba"))
    assert out.words == ["我", "爱", "北京", "天安门"]
    assert out.tags == ["O", "O", "B-LOC", "B-LOC"]
    # And so the task reads Chinese, training (source language zh) and evaluation alike.
    task = get_task("ner", tokenization=TokenizationSettings(zh_ner_segmentation="jieba"), source_language="zh")
    assert task.prepare_records([sentence], "zh") == [out]
    assert task.label_list([sentence]) == ["B-LOC", "O"]


def test_without_jieba_the_error_says_what_to_install(monkeypatch):
    _jieba.cache_clear()
    monkeypatch.setitem(sys.modules, "jieba", None)  # import jieba now raises ImportError
    task = get_task("ner", tokenization=TokenizationSettings(zh_ner_segmentation="jieba"))
    try:
        with pytest.raises(AlignfreezeError, match=r"pip install 'alignfreeze\[zh\]'"):
            chinese_segmenter("jieba")
        task.check_ready(["fr", "de"])  # no Chinese: nothing needed
        with pytest.raises(AlignfreezeError, match="needs the jieba package"):
            task.check_ready(["fr", "zh"])  # what a run can ask before it trains
    finally:
        _jieba.cache_clear()
    with pytest.raises(AlignfreezeError, match="unknown Chinese segmenter 'stanford'"):
        chinese_segmenter("stanford")


def test_reference_protocol_resegments_and_the_default_stays_out_of_run_ids():
    from alignfreeze.schema import identity_values

    assert PROTOCOLS["reference"]["tokenization"]["zh_ner_segmentation"] == "jieba"
    settings = TokenizationSettings()
    assert settings.zh_ner_segmentation == "none"
    assert "zh_ner_segmentation" not in identity_values(settings, settings.model_dump(mode="json"))
