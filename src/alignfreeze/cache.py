"""On-disk cache of work that every run of a grid would otherwise repeat: tokenising the
same data with the same tokenizer (task features, realignment batches). Aligned corpora
have their own cache (:mod:`alignfreeze.align.base`).

Entries live under ``$ALIGNFREEZE_HOME/cache/<kind>/`` and are keyed by *content*: the
tokenizer's full serialisation, the records themselves and every setting that changes the
result -- never by a file name or a date, so an edited data file or another tokenizer gets
its own entry. Writes are atomic (parallel runs that compute the same entry both write it,
whole), and an unreadable entry is recomputed. ``ALIGNFREEZE_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any, Callable, TypeVar

from alignfreeze.fileio import atomic_write_bytes
from alignfreeze.paths import alignfreeze_home

T = TypeVar("T")
_TOKENIZER_KEYS: dict[int, str] = {}


def content_key(*parts: Any) -> str:
    """A digest of ``parts`` (anything picklable; equal content gives an equal key)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(pickle.dumps(part, protocol=4))
    return digest.hexdigest()[:32]


def tokenizer_key(tokenizer) -> str:
    """A digest of everything that decides how ``tokenizer`` tokenises: its full
    serialisation (vocabulary, normaliser, pre-tokeniser, post-processor) and special tokens."""
    key = _TOKENIZER_KEYS.get(id(tokenizer))
    if key is None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        serial = backend.to_str() if backend is not None else repr(tokenizer)
        key = content_key(
            type(tokenizer).__name__,
            serial,
            tokenizer.all_special_tokens,
            tokenizer.padding_side,
            getattr(tokenizer, "truncation_side", "right"),
        )
        _TOKENIZER_KEYS[id(tokenizer)] = key
    return key


def cache_path(kind: str, key: str) -> Path:
    return alignfreeze_home() / "cache" / kind / f"{key}.pkl"


def cached(kind: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()``'s value, read from the cache when an entry for ``key`` exists."""
    if os.environ.get("ALIGNFREEZE_NO_CACHE") == "1":
        return compute()
    path = cache_path(kind, key)
    if path.is_file():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            path.unlink(missing_ok=True)  # unreadable or outdated: compute again
    value = compute()
    atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return value
