"""Training-free embedding aligner, in the style of SimAlign (Jalili Sabet et al., 2020)
and AWESOME-align's extraction step.

Each word is represented by contextual vectors from any encoder at a chosen hidden state,
the cosine similarity matrix of a sentence pair is built, and links are read off it.
``word_vector`` says what the rows and columns are:

* ``first``: one vector per word, its first subword (a lone SentencePiece ``▁`` skipped);
* ``last``: one vector per word, its last subword (a decoder's: the first that has seen the
  whole word);
* ``mean``: one vector per word, the mean of its subwords;
* ``subwords``: every subword of every word (lone ``▁`` pieces left out) is aligned on its
  own and a word pair is linked when any of their subwords are -- SimAlign's default
  ("bpe" token type).

Links are read off the matrix with:

* ``argmax``: mutual argmax -- ``(i, j)`` when ``j`` is the best target for ``i`` *and*
  ``i`` the best source for ``j``;
* ``itermax``: SimAlign's iterative mutual argmax. After the first round, words that are
  still unaligned on at least one side may take further mutual-argmax links, with the
  similarities of rows/columns already aligned down-weighted by ``alpha`` (0.9); at most
  ``max_iterations`` (2) rounds. As in SimAlign, similarities are rescaled to
  ``(cos + 1) / 2`` first, so that down-weighting always lowers them.

Sentences are encoded in length-sorted batches, and only the layers up to the chosen
hidden state are run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional, Sequence

from pydantic import Field

from alignfreeze.align.base import AlignerSettings, Links, Progress, WordAligner
from alignfreeze.errors import AlignfreezeError

if TYPE_CHECKING:  # numpy is imported where vectors are: the config loads without it
    import numpy as np


def mutual_argmax(sim: np.ndarray) -> np.ndarray:
    import numpy as np

    m, n = sim.shape
    fwd = np.zeros((m, n), dtype=bool)
    fwd[np.arange(m), sim.argmax(1)] = True
    bwd = np.zeros((m, n), dtype=bool)
    bwd[sim.argmax(0), np.arange(n)] = True
    return fwd & bwd


def itermax(sim: np.ndarray, max_iterations: int = 2, alpha: float = 0.9) -> np.ndarray:
    """``sim`` must be non-negative (use ``(cos + 1) / 2``): the down-weighting multiplies it,
    which would *raise* negative similarities."""
    import numpy as np

    links = mutual_argmax(sim)
    m, n = sim.shape
    if min(m, n) <= 2:
        return links
    for _ in range(max_iterations - 1):
        row_free = ~links.any(1)
        col_free = ~links.any(0)
        if not row_free.any() or not col_free.any():
            break
        # Weight 1 where both words are free, alpha where one is, 0 where neither is.
        weight = np.clip(alpha * row_free[:, None] + alpha * col_free[None, :], 0.0, 1.0)
        eligible = row_free[:, None] | col_free[None, :]
        new = mutual_argmax(sim * weight) & eligible & ~links
        if not new.any():
            break
        links |= new
    return links


class EmbeddingAligner(WordAligner):
    name = "embedding"

    def __init__(
        self,
        model_name: str = "e5-small",
        layer: int = 8,
        method: str = "argmax",
        word_vector: str = "subwords",
        batch_size: int = 32,
        max_length: int = 256,
        device: str | None = None,
        precision: str = "auto",
    ):
        if method not in ("argmax", "itermax"):
            raise AlignfreezeError(f"unknown embedding-alignment method {method!r} (allowed: argmax, itermax)")
        if word_vector not in ("first", "last", "mean", "subwords"):
            raise AlignfreezeError(f"unknown word vector {word_vector!r} (allowed: first, last, mean, subwords)")
        self.model_name, self.layer, self.method, self.word_vector = model_name, layer, method, word_vector
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        self.precision = precision
        self._model = None

    def settings(self) -> dict:
        from alignfreeze.models.loading import default_device
        from alignfreeze.precision import resolve_precision

        out = {"model": self.model_name, "layer": self.layer, "method": self.method, "word_vector": self.word_vector}
        used = resolve_precision(self.precision, default_device(self.device))
        if used != "fp32":  # only then: caches written before this setting existed stay valid
            out["precision"] = used
        return out

    def _load(self):
        if self._model is None:
            from alignfreeze.models.layers import num_layers
            from alignfreeze.models.loading import load_model, load_tokenizer

            self._tokenizer = load_tokenizer(self.model_name)
            self._model = load_model(self.model_name, device=self.device)
            if not 0 <= self.layer <= num_layers(self._model):
                raise AlignfreezeError(
                    f"layer {self.layer} is out of range for {self.model_name} (0..{num_layers(self._model)})"
                )
        return self._model, self._tokenizer

    def sentence_vectors(
        self, sentences: Sequence[list[str]], on_progress: Progress | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sentence: unit-normalised vectors ``[rows, hidden]`` and, for each row, the
        word it belongs to. One row per word for ``first``/``mean`` (a zero row for a word
        that produced no subword); one row per subword for ``subwords``."""
        import numpy as np
        import torch

        from alignfreeze.data.subwords import encode_words
        from alignfreeze.models.layers import first_layers_only

        model, tokenizer = self._load()
        device = next(model.parameters()).device
        out: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros((0, 0), np.float32), np.zeros(0, int))] * len(sentences)
        order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
        from alignfreeze.precision import Precision

        amp = Precision(self.precision, device)
        with torch.inference_mode(), first_layers_only(model, max(self.layer, 1)), amp.autocast():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = [sentences[k] if sentences[k] else ["."] for k in idx]
                enc, maps = encode_words(
                    tokenizer, batch, max_length=self.max_length, padding=True, return_tensors="pt"
                )
                # Only what every model takes (a decoder has no token types); right-padded with a
                # mask (alignfreeze.models.tokenizers), so padding changes no real token's vector.
                enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
                hidden = model(**enc, output_hidden_states=True).hidden_states[self.layer]
                hidden = (
                    torch.nn.functional.normalize(hidden.float(), dim=-1).cpu().numpy()
                )  # float32 whatever the autocast
                for row, (k, mp) in enumerate(zip(idx, maps)):
                    n_words = len(sentences[k])
                    if self.word_vector == "subwords":
                        positions = [
                            (w, t)
                            for w in range(n_words)
                            if mp.first_subword[w] >= 0
                            for t in range(mp.first_subword[w], mp.spans[w][1])
                        ]
                        owner = np.array([w for w, _ in positions], dtype=int)
                        vecs = (
                            hidden[row, [t for _, t in positions]]
                            if positions
                            else np.zeros((0, hidden.shape[-1]), np.float32)
                        )
                        out[k] = (vecs, owner)
                        continue
                    vecs = np.zeros((n_words, hidden.shape[-1]), np.float32)
                    for w in range(n_words):
                        if mp.first_subword[w] < 0:
                            continue
                        if self.word_vector == "first":
                            vecs[w] = hidden[row, mp.first_subword[w]]
                        elif self.word_vector == "last":
                            vecs[w] = hidden[row, mp.last_subword[w]]
                        else:
                            s, e = mp.spans[w]
                            v = hidden[row, s:e].mean(0)
                            vecs[w] = v / max(np.linalg.norm(v), 1e-12)
                    out[k] = (vecs, np.arange(n_words))
                if on_progress:
                    on_progress(len(idx) / 2)
        return out

    def align_words(
        self, src: Sequence[list[str]], tgt: Sequence[list[str]], on_progress: Progress | None = None
    ) -> list[Links]:
        import numpy as np

        src_vecs = self.sentence_vectors(src, on_progress)
        tgt_vecs = self.sentence_vectors(tgt, on_progress)
        out: list[Links] = []
        for (s, s_owner), (t, t_owner) in zip(src_vecs, tgt_vecs):
            if len(s) == 0 or len(t) == 0:
                out.append([])
                continue
            sim = s @ t.T
            links = mutual_argmax(sim) if self.method == "argmax" else itermax((sim + 1.0) / 2.0)
            rows, cols = np.nonzero(links)
            out.append(sorted({(int(s_owner[i]), int(t_owner[j])) for i, j in zip(rows, cols)}))
        return out


class EmbeddingAlignerConfig(AlignerSettings):
    """Training-free links from contextual vectors, as SimAlign (Jalili Sabet et al., 2020)
    and AWESOME-align (Dou & Neubig, 2021) without fine-tuning: the similarity matrix of the
    two sentences' word vectors at one layer, linked by mutual argmax (or IterMax).

    Args:
        model: the encoder; default: the run's model (e5-small outside runs).
        layer: the hidden state used (0 = embeddings).
        method: ``argmax`` (mutual best) or ``itermax`` (SimAlign's iterative variant).
        word_vector: ``subwords`` (any subword pair links the words), ``first``, ``last`` or ``mean``.
        precision: see :mod:`alignfreeze.precision`.

    Example::

        corpus = af.align_with(af.EmbeddingAlignerConfig(layer=8), sentence_pairs, "en", "fr")
    """

    name: Literal["embedding"] = "embedding"
    model: Optional[str] = Field(
        None, description="encoder to align with; default: the run's model (e5-small outside runs)"
    )
    layer: int = Field(8, ge=0, description="hidden state used (0 = embeddings)")
    method: Literal["argmax", "itermax"] = Field(
        "argmax", description="links: mutual argmax, or SimAlign's IterMax (argmax repeated on unlinked words)"
    )
    word_vector: Literal["subwords", "first", "last", "mean"] = Field(
        "subwords",
        description="words are linked when any of their subwords are ('subwords'), or by the first, last or mean",
    )
    precision: Literal["auto", "fp32", "tf32", "bf16", "fp16"] = Field("auto", description="see alignfreeze.precision")

    def build(self, pair: str, catalog=None, model: str | None = None) -> WordAligner:
        from alignfreeze.align.embedding import EmbeddingAligner

        return EmbeddingAligner(
            self.model or model or "e5-small", self.layer, self.method, self.word_vector, precision=self.precision
        )
