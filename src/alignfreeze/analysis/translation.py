"""Sentence-level translation check: is a sentence closer to its translation than to a
random other sentence of the target side?

This is a sanity check of an encoder's cross-lingual space, not the papers' word-level
measure: a pretrained multilingual encoder should pass it for nearly every pair.
Embeddings are the mean of the last hidden state over real tokens (``<s>`` and ``</s>``
included, padding excluded), compared by cosine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def _length_sorted_batches(tokenizer, texts: Sequence[str], batch_size: int, max_length: int, device):
    """``(indices, tokenizer output on device)`` per batch of ``texts``, sorted by length so
    each batch pads little; the indices put each row back in the texts' order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        yield idx, {k: v.to(device) for k, v in enc.items()}


def mean_pooled_embeddings(
    model, tokenizer, texts: Sequence[str], batch_size: int = 32, max_length: int = 128, on_progress=None
) -> np.ndarray:
    """``[len(texts), hidden]`` float32 array of mean-pooled last hidden states."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for idx, enc in _length_sorted_batches(tokenizer, texts, batch_size, max_length, device):
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            out[idx] = pooled.float().cpu().numpy()
            if on_progress is not None:
                on_progress(len(idx))
    return out


def mean_pooled_hidden_states(
    model, tokenizer, texts: Sequence[str], *, batch_size: int = 32, max_length: int = 128
) -> np.ndarray:
    """``[hidden states, len(texts), hidden]`` float32 array: each text's mean over its real
    tokens (padding excluded) of every hidden state, 0 the embeddings and L the top layer
    (the numbering of ``realignment.layers`` and of the alignment measures)."""
    import torch

    from alignfreeze.models.layers import encoder_of

    encoder = encoder_of(model)
    encoder.eval()
    device = next(encoder.parameters()).device
    out: np.ndarray | None = None
    with torch.inference_mode():
        for idx, enc in _length_sorted_batches(tokenizer, texts, batch_size, max_length, device):
            enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask")}  # the encoder's inputs
            hidden = torch.stack(encoder(**enc, output_hidden_states=True).hidden_states)  # [H, B, T, d]
            mask = enc["attention_mask"][None, :, :, None].to(hidden.dtype)
            pooled = ((hidden * mask).sum(2) / mask.sum(2)).float().cpu().numpy()
            if out is None:
                out = np.zeros((pooled.shape[0], len(texts), pooled.shape[-1]), dtype=np.float32)
            out[:, idx] = pooled
    assert out is not None, "no text given"
    return out


def sentence_retrieval(
    model, tokenizer, src: Sequence[str], tgt: Sequence[str], *, batch_size: int = 32, max_length: int = 128
) -> list[float]:
    """Sentence-retrieval accuracy at every hidden state: how often a sentence's nearest
    neighbour (cosine of mean-pooled vectors) among the other side's sentences is its
    translation, the mean of both directions. ``src[i]`` translates ``tgt[i]``.

    Example::

        sentence_retrieval(model, tokenizer, english, french)   # [acc at 0 (embeddings), ..., acc at L]
    """
    if len(src) != len(tgt) or not src:
        raise ValueError(f"sentence_retrieval needs as many sources as targets, at least one ({len(src)}, {len(tgt)})")
    s = mean_pooled_hidden_states(model, tokenizer, src, batch_size=batch_size, max_length=max_length)
    t = mean_pooled_hidden_states(model, tokenizer, tgt, batch_size=batch_size, max_length=max_length)
    gold = np.arange(len(src))
    accuracy = []
    for layer_s, layer_t in zip(s, t):
        layer_s = layer_s / np.linalg.norm(layer_s, axis=1, keepdims=True).clip(min=1e-12)
        layer_t = layer_t / np.linalg.norm(layer_t, axis=1, keepdims=True).clip(min=1e-12)
        similarity = layer_s @ layer_t.T
        forward = (similarity.argmax(axis=1) == gold).mean()
        backward = (similarity.argmax(axis=0) == gold).mean()
        accuracy.append(float((forward + backward) / 2))
    return accuracy


@dataclass
class TranslationCheck:
    pair: str
    n_pairs: int
    wins: int
    mean_cos_translation: float
    mean_cos_random: float

    @property
    def accuracy(self) -> float:
        return self.wins / self.n_pairs


def translation_check(
    model, tokenizer, src: Sequence[str], tgt: Sequence[str], pair: str = "", seed: int = 0, batch_size: int = 32
) -> TranslationCheck:
    """For each pair i, draw j != i at random and count cos(s_i, t_i) > cos(s_i, t_j)."""
    if len(src) != len(tgt) or len(src) < 2:
        raise ValueError("need at least two aligned sentence pairs")
    s = mean_pooled_embeddings(model, tokenizer, src, batch_size)
    t = mean_pooled_embeddings(model, tokenizer, tgt, batch_size)
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    n = len(src)
    rng = np.random.default_rng(seed)
    other = (np.arange(n) + rng.integers(1, n, size=n)) % n  # uniform over j != i
    cos_true = (s * t).sum(1)
    cos_rand = (s * t[other]).sum(1)
    return TranslationCheck(pair, n, int((cos_true > cos_rand).sum()), float(cos_true.mean()), float(cos_rand.mean()))


def check_translations(
    model_name: str = "e5-small",
    *,
    pairs: Sequence[str] = ("en-fr", "en-zh"),
    dataset: str = "un",
    split: str = "dev",
    n: int = 200,
    seed: int = 0,
    data_dir=None,
) -> list[TranslationCheck]:
    """:func:`translation_check` of ``model_name`` on the first ``n`` sentence pairs of each
    catalog language pair (``en-fr``...) of ``dataset`` / ``split``.

    Example::

        [c.accuracy for c in check_translations("e5-small", pairs=["en-fr"], n=100)]
    """
    from alignfreeze.data import DataCatalog
    from alignfreeze.data.parallel import read_parallel
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.models.loading import load_model, load_tokenizer

    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise AlignfreezeError(f"n = {n!r}: the check needs at least 2 sentence pairs per language pair")
    # Every pair's sentences first: a missing or short corpus fails before the model loads.
    catalog = DataCatalog(data_dir)
    texts = {}
    for pair in pairs:
        source = catalog.find("parallel", pair, split, dataset=dataset, allow_hub=False)
        sentence_pairs = read_parallel(*source.files)[:n]
        if len(sentence_pairs) < 2:
            raise AlignfreezeError(f"{source.describe()}: {len(sentence_pairs)} sentence pair(s); the check needs 2")
        texts[pair] = [p.src for p in sentence_pairs], [p.tgt for p in sentence_pairs]
    tokenizer, model = load_tokenizer(model_name), load_model(model_name)
    return [translation_check(model, tokenizer, src, tgt, pair, seed) for pair, (src, tgt) in texts.items()]
