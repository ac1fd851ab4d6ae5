"""Word-level alignment by nearest-neighbour retrieval, at every layer (Gaschi et al.,
"Exploring the Relationship between Alignment and Cross-lingual Transfer in Multilingual
Transformers", Findings of ACL 2023).

For ``n`` translated word pairs in context, each word is represented by the contextual
vector of its first subword at hidden state ``l`` (0 = embeddings output, ``L`` = last
layer); in a decoder (causal LM) by its last subword, the first one that has seen the whole
word (``word_vector``, :data:`alignfreeze.data.subwords.WORD_VECTORS`). A source word is *retrieved* when its nearest candidate by cosine is its own
translation:

* **weak** alignment: the candidates are the ``n`` target-language words of the sample;
* **strong** alignment: the candidates are all ``2n`` words of both languages minus the
  query itself, so a word must be closer to its translation than to every other word of
  its own language.

The score is the accuracy of that argmax, in both directions (``fwd``: source queries,
``bwd``: target queries). Options:

* ``csls_k``: rank by CSLS (Conneau et al., 2018),
  ``2 cos(x, y) - r(x) - r(y)``, where ``r(v)`` is the mean cosine of ``v`` to its ``k``
  nearest candidates of the other side (weak) or of the pool (strong). It penalises hubs.
* ``center``: subtract each language's mean vector (per layer) first, which removes the
  language-specific offset (Libovický et al., 2020).

All words of a sentence are gathered from one forward pass, batches are sorted by length,
and only the layers up to the highest requested one are run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from alignfreeze.analysis.config import AlignmentMeasureSettings, parse_layers
from alignfreeze.analysis.retrieval_modes import RETRIEVAL_MODES
from alignfreeze.analysis.word_pairs import WordPairSample
from alignfreeze.data.subwords import encode_words
from alignfreeze.errors import AlignfreezeError
from alignfreeze.metric_names import alignment_metric


def first_subword_states(
    model,
    tokenizer,
    sentences: Sequence[Sequence[str]],
    sentence_of_word: Sequence[int],
    word_index: Sequence[int],
    layers: Sequence[int],
    batch_size: int = 16,
    max_length: int = 256,
    on_progress: Callable[[int], None] | None = None,
    word_vector: str = "first",
) -> tuple[torch.Tensor, np.ndarray]:
    """Word vectors ``[len(layers), n_words, hidden]`` (float32, on CPU) of the words
    ``sentences[sentence_of_word[k]][word_index[k]]``: the hidden state of their first subword,
    their last (``word_vector="last"``) or the mean of their subwords (``"mean"``), and a mask
    of the words that kept a subword (a word cut off by ``max_length`` has none; its vector is
    zero). Sentences are right-padded with an attention mask, so a word's vector is the same
    alone or in a batch, in an encoder and a decoder alike."""
    from alignfreeze.models.layers import encoder_of, first_layers_only
    from alignfreeze.realign.batches import pad_ids

    encoder = encoder_of(model)
    encoder.eval()
    device = next(encoder.parameters()).device
    top = max(layers)
    n = len(word_index)
    out = torch.zeros(len(layers), n, encoder.config.hidden_size)
    found = np.zeros(n, dtype=bool)
    words_of: dict[int, list[int]] = {}
    for k, s in enumerate(sentence_of_word):
        words_of.setdefault(s, []).append(k)
    needed = sorted(words_of, key=lambda s: sum(len(w) for w in sentences[s]))  # length-sorted: little padding
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode(), first_layers_only(encoder, max(top, 1)):  # 0 layers: no hidden states at all
        for start in range(0, len(needed), batch_size):
            batch = needed[start : start + batch_size]
            encoding, mappings = encode_words(tokenizer, [sentences[s] for s in batch], max_length)
            ids, mask = pad_ids(encoding["input_ids"], pad_id)
            hidden = encoder(
                input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True
            ).hidden_states
            stacked = torch.stack([hidden[layer] for layer in layers])  # [layers, batch, tokens, hidden]
            rows, positions, targets = [], [], []  # one entry per subword a word's vector averages
            for b, s in enumerate(batch):
                of_word = mappings[b].positions(word_vector)
                for k in words_of[s]:
                    for position in of_word[word_index[k]]:
                        rows.append(b)
                        positions.append(position)
                        targets.append(k)
            if targets:
                gathered = stacked[:, torch.tensor(rows, device=device), torch.tensor(positions, device=device)]
                index = torch.tensor(targets)
                summed = torch.zeros(len(layers), n, out.shape[-1]).index_add_(1, index, gathered.float().cpu())
                counts = torch.zeros(n).index_add_(0, index, torch.ones(len(targets)))
                chosen = torch.unique(index)
                out[:, chosen] = summed[:, chosen] / counts[chosen, None]
                found[chosen.numpy()] = True
            if on_progress is not None:
                on_progress(len(batch))
    return out, found


def retrieval_accuracy(
    src: torch.Tensor, tgt: torch.Tensor, mode: str = "strong", csls_k: int = 0, center: bool = False
) -> dict[str, float]:
    """``{"fwd": acc, "bwd": acc}`` for word vectors ``src[i]`` / ``tgt[i]`` that are
    translations, in one retrieval mode (:data:`~alignfreeze.analysis.retrieval_modes.RETRIEVAL_MODES`)."""
    if mode not in RETRIEVAL_MODES:
        raise AlignfreezeError(f"unknown retrieval mode {mode!r} (allowed: {', '.join(RETRIEVAL_MODES)})")
    if src.shape != tgt.shape or src.ndim != 2:
        raise ValueError("src and tgt must be [n, hidden] of the same shape")
    n = src.shape[0]
    if n < 2:
        raise AlignfreezeError("retrieval needs at least two word pairs")
    src, tgt = src.double(), tgt.double()
    if center:
        src, tgt = src - src.mean(0), tgt - tgt.mean(0)
    src = torch.nn.functional.normalize(src, dim=1)
    tgt = torch.nn.functional.normalize(tgt, dim=1)
    fwd, bwd = RETRIEVAL_MODES[mode](src, tgt, csls_k)
    return {"fwd": fwd.double().mean().item(), "bwd": bwd.double().mean().item()}


@dataclass
class RetrievalScores:
    """Accuracies of one model on one sample: ``scores[(layer, mode, direction)]``."""

    pair: str
    n_pairs: int
    scores: dict[tuple[int, str, str], float]
    stats: dict
    seconds: float

    @property
    def language(self) -> str:
        return self.pair.split("-")[1]

    def metrics(self) -> dict[str, float]:
        """Metric names of run results: ``alignment_{mode}_{direction}_L{layer}``."""
        return {alignment_metric(m, d, layer): v for (layer, m, d), v in sorted(self.scores.items())}


def measure_alignment(
    model,
    tokenizer,
    sample: WordPairSample,
    settings: AlignmentMeasureSettings | None = None,
    on_progress: Callable[[int], None] | None = None,
    **overrides,
) -> RetrievalScores:
    """Word retrieval accuracy of translated word pairs in context, at every requested layer,
    in each mode and direction (Gaschi et al., Findings of ACL 2023; see the module docstring).

    Args:
        model: an encoder or a decoder (a ``transformers`` base model or one with a head).
        tokenizer: its fast tokenizer.
        sample: the word pairs, from :func:`alignfreeze.analysis.word_pairs.sample_word_pairs`.
        settings: :class:`AlignmentMeasureSettings` (layers, modes, directions, CSLS, centring,
            batch size, maximum length); its defaults when omitted.
        on_progress: called with the number of sentences encoded, batch by batch.
        overrides: settings fields given by name, e.g. ``layers="8-12"``, ``csls_k=10``.

    Returns:
        :class:`RetrievalScores`: ``scores[(layer, mode, direction)]`` and the sample's statistics.

    Example::

        sample = af.sample_word_pairs(corpus, n_pairs=1000, seed=0)
        scores = af.measure_alignment(model, tokenizer, sample, layers="last", modes=["strong"])
        scores.scores[(12, "strong", "fwd")]
    """
    if settings is not None and not isinstance(settings, AlignmentMeasureSettings):
        raise TypeError(f"settings must be an AlignmentMeasureSettings, not {type(settings).__name__}")
    if overrides:
        settings = AlignmentMeasureSettings(**{**(settings or AlignmentMeasureSettings()).model_dump(), **overrides})
    settings = settings or AlignmentMeasureSettings()
    layers, modes, directions = settings.layers, settings.modes, settings.directions
    csls_k, center, batch_size, max_length = settings.csls_k, settings.center, settings.batch_size, settings.max_length
    from alignfreeze.models.layers import default_word_vector, encoder_of, num_layers

    t0 = time.perf_counter()
    layers = parse_layers(layers, num_layers(encoder_of(model)))
    word_vector = settings.word_vector or default_word_vector(encoder_of(model).config)
    src, src_found = first_subword_states(
        model,
        tokenizer,
        sample.src_sentences,
        sample.src_sentence,
        sample.src_word,
        layers,
        batch_size,
        max_length,
        on_progress,
        word_vector,
    )
    tgt, tgt_found = first_subword_states(
        model,
        tokenizer,
        sample.tgt_sentences,
        sample.tgt_sentence,
        sample.tgt_word,
        layers,
        batch_size,
        max_length,
        on_progress,
        word_vector,
    )
    keep = src_found & tgt_found
    if keep.sum() < 2:
        raise AlignfreezeError(f"{sample.pair}: fewer than two word pairs have subwords within {max_length} tokens")
    src, tgt = src[:, torch.from_numpy(keep)], tgt[:, torch.from_numpy(keep)]
    scores = {}
    for li, layer in enumerate(layers):
        for mode in modes:
            acc = retrieval_accuracy(src[li], tgt[li], mode, csls_k, center)
            for d in directions:
                scores[(layer, mode, d)] = acc[d]
    stats = {
        **sample.stats,
        "pairs": int(keep.sum()),
        "dropped_truncated": int((~keep).sum()),
        "word_vector": word_vector,
    }
    return RetrievalScores(sample.pair, int(keep.sum()), scores, stats, time.perf_counter() - t0)
