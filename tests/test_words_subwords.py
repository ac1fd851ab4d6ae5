"""Pre-tokenisation rules and the words -> subwords mapping (XLM-R SentencePiece and WordPiece)."""

from __future__ import annotations

import pytest

from alignfreeze.data import encode_words, map_words, split_words


def test_regex_words_and_punctuation():
    assert split_words("Hello, world! It's 3.5%.") == ["Hello", ",", "world", "!", "It", "'", "s", "3", ".", "5", "%."]


def test_marks_stay_inside_words():
    assert split_words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_unsegmented_chinese_is_one_character_per_word_with_latin_runs_kept():
    assert split_words("我爱Paris和北京。") == ["我", "爱", "Paris", "和", "北", "京", "。"]


def test_thai_characters_keep_their_marks():
    assert split_words("ภาษาไทย") == ["ภ", "า", "ษ", "า", "ไ", "ท", "ย"]
    assert split_words("กิน") == ["กิ", "น"]  # the vowel sign stays on its base letter


def test_segmented_chinese_is_left_as_segmented():
    assert split_words("我 爱 北京 。") == ["我", "爱", "北京", "。"]


def test_pretokenized_keeps_tokens():
    assert split_words("don't  stop-it", pretokenized=True) == ["don't", "stop-it"]


def test_map_words_from_word_ids():
    m = map_words([None, 0, 0, 1, None], 3, ["<s>", "▁", "人", "▁在", "</s>"])
    assert m.first_subword == [2, 3, -1]  # lone ▁ skipped; word 2 truncated away
    assert m.spans == [(1, 3), (3, 4), (0, 0)]


def test_xlmr_lone_boundary_piece_is_skipped(xlmr_tokenizer):
    words = ["中国", "人", "在", "Paris", "."]
    enc, (m,) = encode_words(xlmr_tokenizer, [words])
    tokens = enc.tokens(0)
    firsts = [tokens[i] for i in m.first_subword]
    assert "▁" not in firsts
    assert firsts[1] == "人" and tokens[m.first_subword[1] - 1] == "▁"
    # spans still cover the whole word, boundary piece included
    assert [tokens[s:e] for s, e in m.spans][1] == ["▁", "人"]


def test_xlmr_truncation_marks_lost_words(xlmr_tokenizer):
    words = ["word"] * 20
    _, (m,) = encode_words(xlmr_tokenizer, [words], max_length=8)
    assert m.first_subword[:6] == [1, 2, 3, 4, 5, 6] and set(m.first_subword[6:]) == {-1}


def test_wordpiece_first_subword_and_pairs(bert_tokenizer):
    enc, (m,) = encode_words(bert_tokenizer, [["The", "cat", "unbelievable", "."]])
    assert enc.tokens(0) == ["[CLS]", "the", "cat", "un", "##believ", "##able", ".", "[SEP]"]
    assert m.first_subword == [1, 2, 3, 6] and m.spans[2] == (3, 6)
    enc, (m,) = encode_words(bert_tokenizer, [["the", "cat"]], pair=[["on", "mat"]])
    assert m.first_subword == [1, 2] and m.word_ids.count(None) == 5  # [CLS] [SEP] on mat [SEP]


def test_strings_are_rejected(bert_tokenizer):
    with pytest.raises(TypeError, match="lists of words"):
        encode_words(bert_tokenizer, ["the cat"])
