"""Shared fixtures. Real data and the real model are used when present and skipped with a
reason when absent; unit tests build what they need (tiny tokenizers, small files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from alignfreeze.paths import default_data_root  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = default_data_root()
    if not (root / "README.md").is_file() and not any(root.glob("*")):
        pytest.skip(f"real data not found at {root} (set ALIGNFREEZE_DATA or place ../shared/data beside the repo)")
    return root


@pytest.fixture(scope="session")
def e5_small_path() -> Path:
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.models import prepare_e5_small

    try:
        return prepare_e5_small()
    except AlignfreezeError as exc:
        pytest.skip(f"embedded model unavailable: {exc}")


@pytest.fixture(scope="session")
def xlmr_tokenizer():
    """The exact XLM-R fast tokenizer, straight from the installed tokenizer package."""
    from transformers import PreTrainedTokenizerFast

    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.models.e5_small import source_files

    try:
        _, tokenizer_json = source_files()
    except AlignfreezeError as exc:
        pytest.skip(str(exc))
    return PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_json),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
    )


@pytest.fixture(scope="session")
def bert_tokenizer():
    """A tiny BERT-style WordPiece fast tokenizer built in memory."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "the",
        "cat",
        "sat",
        "un",
        "##believ",
        "##able",
        ".",
        "on",
        "mat",
    ]
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def toy(tmp_path, xlmr_tokenizer, monkeypatch):
    """``(data root, model folder, test folder)``: a tiny data root in the catalog's layout
    and a tiny model on disk, with ALIGNFREEZE_HOME inside the test's folder."""
    from fixtures_tasks import make_data_root, make_tiny_model

    monkeypatch.setenv("ALIGNFREEZE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return make_data_root(tmp_path / "data"), make_tiny_model(tmp_path / "tiny-model", xlmr_tokenizer), tmp_path


def assert_png_drawn(path, min_ink: float = 0.02) -> None:
    """``path`` is a PNG with something drawn on it: a readable image, and more than
    ``min_ink`` of its pixels not white (an empty or blank figure fails)."""
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100, pixels.shape
    ink = (pixels.min(-1) < 0.9).mean()
    assert ink > min_ink, f"{path}: only {ink:.1%} of the pixels are drawn"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, f"{path}: fewer than 20 colours"
