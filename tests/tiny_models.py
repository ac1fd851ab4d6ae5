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
