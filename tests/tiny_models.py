"""Tiny real models built from configs, for fast unit tests (no weights downloaded)."""

from __future__ import annotations

import torch


def tiny_config(kind: str = "bert", vocab_size: int = 250037, layers: int = 4, hidden: int = 32):
    from transformers import AutoConfig

    common = dict(vocab_size=vocab_size, pad_token_id=1, max_position_embeddings=130)
    if kind == "distilbert":
        return AutoConfig.for_model(
            "distilbert", n_layers=layers, dim=hidden, hidden_dim=2 * hidden, n_heads=2, **common
        )
    if kind == "deberta-v2":
        return AutoConfig.for_model(
            "deberta-v2",
            num_hidden_layers=layers,
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_attention_heads=2,
            **common,
        )
    model_type = {"bert": "bert", "xlm-roberta": "xlm-roberta"}[kind]
    return AutoConfig.for_model(
        model_type,
        num_hidden_layers=layers,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_attention_heads=2,
        **common,
    )


def tiny_model(kind: str = "bert", seed: int = 0, head: str | None = None, **kwargs):
    from transformers import AutoModel, AutoModelForTokenClassification

    torch.manual_seed(seed)
    config = tiny_config(kind, **kwargs)
    if head == "token":
        config.num_labels = 5
        return AutoModelForTokenClassification.from_config(config)
    return AutoModel.from_config(config)


#: The decoder families the tiny-decoder tests cover (transformers model types).
DECODER_KINDS = ("llama", "qwen2", "gemma3_text")


def tiny_decoder_config(kind: str = "llama", vocab_size: int = 250037, layers: int = 4, hidden: int = 32):
    """A tiny causal-LM config (Llama, Qwen2 or Gemma 3's text model), built in memory. The
    vocabulary is the XLM-R tokenizer's, so the ``xlmr_tokenizer`` fixture tokenises for it."""
    from transformers import AutoConfig

    options = dict(
        vocab_size=vocab_size,
        num_hidden_layers=layers,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    if kind == "gemma3_text":
        options.update(head_dim=16, sliding_window=8, query_pre_attn_scalar=16)
    return AutoConfig.for_model(kind, **options)


def tiny_decoder(kind: str = "llama", seed: int = 0, **kwargs):
    """A tiny causal LM's base model (``AutoModel``: ``LlamaModel``, ``Qwen2Model``,
    ``Gemma3TextModel``) with random weights."""
    from transformers import AutoModel

    torch.manual_seed(seed)
    return AutoModel.from_config(tiny_decoder_config(kind, **kwargs))
