"""Parameter-efficient adapters (LoRA, through peft) on a model's encoder.

``training.adapter: {type: lora, r: 8}`` puts one LoRA adapter on the run's encoder (the
base model of a task model): realignment trains it, and fine-tuning then trains the same
adapter with the task head (the reference's approach ``same``: emnlp-2026-code-submission,
``scripts/ours/controlled_realignment.py`` 173-187, ``LoraConfig(r=8, lora_alpha=32,
lora_dropout=0.1)`` with peft's per-architecture target modules). Every other weight of the
encoder, the embedding matrix included, stays fixed; the task head (every parameter outside
the encoder) is trained whole.

The adapter is injected in place (``peft.inject_adapter_in_model``), not wrapped in a
``PeftModel``: the model keeps its class, its ``base_model``, its layer list and its
``output_hidden_states``, so freeze specs find the same layers. A frozen layer's LoRA
matrices are parameters of that layer, so a freeze spec holds them fixed too.

A model with an adapter saves as peft does (``adapter_config.json`` naming the base model,
``adapter_model.safetensors``), plus the head's weights (``head.safetensors``) and the
model's ``config.json`` (its labels); :func:`alignfreeze.models.loading.load_model` loads
such a folder back: the base model, then the adapter and the head on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alignfreeze.errors import AlignfreezeError

if TYPE_CHECKING:  # torch and peft are imported where a model is adapted: a config loads without them
    from torch import nn

#: peft's file names (``PeftModel.save_pretrained``), and ours for the task head.
ADAPTER_CONFIG_FILE = "adapter_config.json"
ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"
HEAD_WEIGHTS_FILE = "head.safetensors"
#: The adapter's name inside the model (peft's default).
ADAPTER_NAME = "default"
#: Target modules for architectures peft has no LoRA default for, in the spirit of its
#: defaults (the attention's query and value matrices): DistilBERT (DistilmBERT, a paper model).
EXTRA_DEFAULT_TARGETS = {"distilbert": ["q_lin", "v_lin"]}
#: The prefix peft's own ``PeftModel.save_pretrained`` gives adapter weights, kept so that
#: ``PeftModel.from_pretrained(base, folder)`` reads our folders too.
PEFT_KEY_PREFIX = "base_model.model."


class LoraAdapter(BaseModel):
    """A LoRA adapter (Hu et al., 2022) on the encoder's linear layers, through peft. The
    defaults are the emnlp-2026 code's (``LoraConfig(r=8, lora_alpha=32, lora_dropout=0.1)``,
    ``scripts/ours/controlled_realignment.py`` 176-180).

    Example::

        af.TrainingSettings(adapter={"type": "lora", "r": 8})
        # in YAML:  training: {adapter: {type: lora, r: 8}}
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["lora"] = Field("lora", description="the adapter method")
    r: int = Field(8, ge=1, description="rank of the low-rank update of each adapted matrix")
    alpha: float = Field(32.0, gt=0, description="scaling: the update is multiplied by alpha / r (peft's lora_alpha)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout on the adapter's input (peft's lora_dropout)")
    target_modules: list[str] | None = Field(
        None,
        description="names (or name endings) of the linear layers to adapt; null: peft's default for the "
        "architecture (query and value projections: query/value for BERT and XLM-R, q_proj/v_proj for Llama, "
        "Qwen2, Mistral and Gemma; q_lin/v_lin for DistilBERT, which peft has no default for)",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        """``adapter: lora`` (or ``--set training.adapter=lora``) is the defaults."""
        return {"type": data} if isinstance(data, str) else data

    def peft_config(self, base_model: str | None = None, model_type: str | None = None):
        """The ``peft.LoraConfig`` of these settings, for a model of ``model_type``: without
        ``target_modules``, peft's default for it (:data:`EXTRA_DEFAULT_TARGETS` where peft has none)."""
        from peft import LoraConfig

        targets = self.target_modules or EXTRA_DEFAULT_TARGETS.get(model_type or "")
        return LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(targets) if targets else None,
            base_model_name_or_path=base_model,
        )


#: Adapter settings by ``type`` (one class per method, as peft's configs).
ADAPTERS: dict[str, type[BaseModel]] = {"lora": LoraAdapter}
#: What ``training.adapter`` takes (a union once there is more than one method).
AdapterSettings = LoraAdapter


def _encoder(model: nn.Module) -> nn.Module:
    from alignfreeze.models.layers import encoder_of

    return encoder_of(model)


def has_adapter(model: nn.Module) -> bool:
    """Whether ``model`` (or its encoder) carries an adapter from :func:`add_adapter`."""
    return hasattr(_encoder(model), "peft_config")


def add_adapter(model: nn.Module, settings: AdapterSettings, base_model: str | None = None) -> nn.Module:
    """Inject the adapter of ``settings`` into ``model``'s encoder, in place, and return the
    model: only the adapter's matrices and the task head (the parameters outside the encoder)
    are trainable then. ``base_model``: the model's name as a config gives it (``e5-small``, a
    hub id, a folder), recorded so that a saved adapter can be loaded on it again. An
    architecture for which peft knows no default target modules needs ``target_modules``."""
    from peft import inject_adapter_in_model

    encoder = _encoder(model)
    if has_adapter(model):
        raise AlignfreezeError(
            f"{base_model or type(model).__name__} already has an adapter (it was saved with one); "
            "without training.adapter (or --adapter) that adapter trains further"
        )
    try:
        config = settings.peft_config(base_model, getattr(encoder.config, "model_type", None))
        inject_adapter_in_model(config, encoder, adapter_name=ADAPTER_NAME)
    except ValueError as exc:  # no default target modules for this architecture, or none matched
        raise AlignfreezeError(f"adapter {settings.type} on {type(encoder).__name__}: {exc}") from None
    return model


def adapter_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The adapter's own parameters in ``model`` (its LoRA matrices)."""
    return [p for name, p in _encoder(model).named_parameters() if "lora_" in name]


def fixed_by_adapter(model: nn.Module) -> set[int]:
    """``id()`` of every parameter of ``model`` an adapter holds fixed: its encoder's weights
    other than the adapter's (the embedding matrix included). Empty without an adapter. A freeze
    schedule that releases a layer must not make these trainable."""
    if not has_adapter(model):
        return set()
    own = {id(p) for p in adapter_parameters(model)}
    return {id(p) for p in _encoder(model).parameters() if id(p) not in own}


def _head_parameters(model: nn.Module) -> dict[str, Any]:
    """The parameters of ``model`` outside its encoder (the task head), by name."""
    inside = {id(p) for p in _encoder(model).parameters()}
    return {name: p for name, p in model.named_parameters() if id(p) not in inside}


def save_adapter(model: nn.Module, folder: str | Path) -> None:
    """Write ``model``'s adapter to ``folder`` as peft does (``adapter_config.json`` naming the
    base model, ``adapter_model.safetensors``), its task head (``head.safetensors``) and its
    ``config.json``. The base model's weights are not written: loading reads them from the
    base model (:func:`load_adapter_model`)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    folder = Path(folder)
    encoder = _encoder(model)
    config = encoder.peft_config[ADAPTER_NAME]
    config.save_pretrained(str(folder))
    # The embedding matrix never trains under an adapter: not saved, and peft is spared its
    # look-up of the base model's config to tell whether the vocabulary grew (a warning when
    # the base is named, not a folder: gemma3-270m).
    weights = get_peft_model_state_dict(encoder, adapter_name=ADAPTER_NAME, save_embedding_layers=False)
    save_file({PEFT_KEY_PREFIX + k: v.detach().contiguous() for k, v in weights.items()}, folder / ADAPTER_WEIGHTS_FILE)
    head = _head_parameters(model)
    if head:
        save_file({k: v.detach().contiguous() for k, v in head.items()}, folder / HEAD_WEIGHTS_FILE)
    model.config.save_pretrained(str(folder))


def is_adapter_folder(name: str | Path) -> bool:
    """Whether ``name`` is a local folder holding a saved adapter (``adapter_config.json``)."""
    try:
        return (Path(name).expanduser() / ADAPTER_CONFIG_FILE).is_file()
    except (OSError, ValueError):
        return False


def load_adapter_model(folder: str | Path, head: str | None = None, labels: Sequence[str] = (), device=None):
    """A model saved with an adapter (:func:`save_adapter`): the base model its
    ``adapter_config.json`` names, loaded by :func:`~alignfreeze.models.loading.load_model`
    with ``head`` (labelled as saved, unless ``labels`` are given), the adapter on its encoder
    and, with a head, the saved head's weights. The adapter is not merged."""
    import torch
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    from alignfreeze.models.loading import default_device, load_model

    folder = Path(folder).expanduser()
    try:
        recorded = json.loads((folder / ADAPTER_CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AlignfreezeError(f"{folder / ADAPTER_CONFIG_FILE}: not a readable adapter config ({exc})") from None
    base = recorded.get("base_model_name_or_path")
    if not base:
        raise AlignfreezeError(f"{folder / ADAPTER_CONFIG_FILE}: names no base model (base_model_name_or_path)")
    if head is not None and not labels and (folder / "config.json").is_file():
        saved = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("id2label") or {}
        labels = [saved[k] for k in sorted(saved, key=int)]
    model = load_model(base, head=head, labels=labels, device="cpu")
    encoder = _encoder(model)
    inject_adapter_in_model(LoraConfig.from_pretrained(str(folder)), encoder, adapter_name=ADAPTER_NAME)
    weights = load_file(folder / ADAPTER_WEIGHTS_FILE)
    weights = {k.removeprefix(PEFT_KEY_PREFIX): v for k, v in weights.items()}
    result = set_peft_model_state_dict(encoder, weights, adapter_name=ADAPTER_NAME)
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing or result.unexpected_keys:
        raise AlignfreezeError(
            f"{folder / ADAPTER_WEIGHTS_FILE} does not fit {base!r}: "
            f"{len(missing)} adapter weights missing, {len(result.unexpected_keys)} unexpected"
        )
    if head is not None and (folder / HEAD_WEIGHTS_FILE).is_file():
        saved_head = load_file(folder / HEAD_WEIGHTS_FILE)
        params = _head_parameters(model)
        if {k: tuple(v.shape) for k, v in saved_head.items()} != {k: tuple(p.shape) for k, p in params.items()}:
            raise AlignfreezeError(
                f"{folder / HEAD_WEIGHTS_FILE}: its head ({', '.join(sorted(saved_head))}) is not the {head} head "
                f"of {base!r} ({', '.join(sorted(params))})"
            )
        with torch.no_grad():
            for name, value in saved_head.items():
                params[name].copy_(value)
    return model.to(default_device(device)).eval()
