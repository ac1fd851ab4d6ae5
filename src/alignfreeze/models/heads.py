"""Task heads for any backbone: transformers' class where the model type has one, ours where not.

transformers has token-classification, sequence-classification and extractive-QA classes for
BERT-like encoders and for Llama, Qwen2 or Mistral, but not for every model type: Gemma 3's
text model has a sequence head and neither of the other two. For such a type,
:func:`head_class` builds ours: the backbone (``AutoModel.from_config(config)``) under the
backbone's own ``base_model_prefix``, dropout and one linear layer. They are subclasses of
the backbone's ``PreTrainedModel`` family (its weight initialisation, attention
implementations and base-model prefix), so:

* a base checkpoint (e.g. the prepared ``gemma3-270m``) loads into them with every backbone
  weight and only the head new;
* ``model.base_model`` is the backbone (what :func:`alignfreeze.models.layers.encoder_of` returns);
* they are registered with transformers' Auto classes for that config class, so
  ``save_pretrained`` and ``load_model``/``AutoModelFor...from_pretrained`` round-trip them
  as ordinary checkpoints (in a process that has called :func:`head_class`, as every
  :func:`alignfreeze.models.loading.load_model` does).

Their losses are those of transformers' heads: token classification is the cross-entropy over
tokens whose label is not -100; QA is the mean of the start and end cross-entropies, positions
outside the sequence ignored; sequence classification is cross-entropy (mean squared error for
one label).

A causal model's token sees only its left context: a decoder's token head labels each token
from the words before it and the token itself, never from those after. This is accepted for
tagging with decoder LLMs (and is how transformers' ``LlamaForTokenClassification`` works);
alignfreeze's ``word_vector: last`` reads the word's last subword, which has seen the whole word.
"""

from __future__ import annotations

import functools
from typing import Any

#: Each alignfreeze head: transformers' Auto class and its mapping of model types to classes.
AUTO_CLASSES = {
    "token": ("AutoModelForTokenClassification", "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES"),
    "sequence": ("AutoModelForSequenceClassification", "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES"),
    "qa": ("AutoModelForQuestionAnswering", "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES"),
}


def auto_class(head: str):
    """transformers' Auto class for ``head`` (``token``, ``sequence``, ``qa``)."""
    import transformers

    return getattr(transformers, AUTO_CLASSES[head][0])


def has_transformers_head(model_type: str, head: str) -> bool:
    """Whether transformers itself has a ``head`` class for ``model_type``."""
    from transformers.models.auto import modeling_auto

    return model_type in getattr(modeling_auto, AUTO_CLASSES[head][1])


def head_class(config, head: str):
    """The class that puts ``head`` on ``config``'s backbone: transformers' own where there is
    one, else ours (built once per config class and registered with the Auto class)."""
    if has_transformers_head(config.model_type, head):
        return auto_class(head)
    cls = _our_head_class(type(config), head)
    # Registered here, not where the class is built: a class built for another use (a test
    # of ours on a type transformers covers) must not displace transformers' own.
    auto_class(head).register(type(config), cls, exist_ok=True)
    return cls


def _dropout_rate(config) -> float:
    """transformers' rule for its decoder heads: ``classifier_dropout``, else the hidden
    dropout, else 0.1."""
    for name in ("classifier_dropout", "hidden_dropout", "hidden_dropout_prob"):
        value = getattr(config, name, None)
        if value is not None:
            return value
    return 0.1


class _BackboneHead:
    """What the three heads share: the backbone under its prefix, dropout and a linear
    layer of ``n_outputs(config)`` (each head's) on the last hidden state. Mixed in before the backbone's
    ``PreTrainedModel`` class (:func:`_our_head_class`)."""

    def __init__(self, config):
        from torch import nn
        from transformers import AutoModel

        super().__init__(config)
        setattr(self, self.base_model_prefix, AutoModel.from_config(config))
        self.dropout = nn.Dropout(_dropout_rate(config))
        self.head = nn.Linear(config.get_text_config().hidden_size, self.n_outputs(config))
        self.post_init()

    def get_input_embeddings(self):
        return self.base_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.base_model.set_input_embeddings(value)

    def _hidden_and_logits(self, input_ids, attention_mask, position_ids, inputs_embeds, kwargs):
        # A decoder has no segment embeddings; tokenizers of BERT-like models add
        # token_type_ids that alignfreeze's collators pass on: dropped here.
        kwargs.pop("token_type_ids", None)
        outputs = self.base_model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            **kwargs,
        )
        return outputs, self.head(self.dropout(outputs.last_hidden_state))


class BackboneForTokenClassification(_BackboneHead):
    """A label per token. On a causal backbone a token's label is read from its left
    context only (module docstring)."""

    def n_outputs(self, config) -> int:
        return config.num_labels

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None, labels=None, **kw):
        import torch.nn.functional as F
        from transformers.modeling_outputs import TokenClassifierOutput

        outputs, logits = self._hidden_and_logits(input_ids, attention_mask, position_ids, inputs_embeds, kw)
        loss = None
        if labels is not None:
            flat = logits.float().view(-1, logits.shape[-1])
            loss = F.cross_entropy(flat, labels.view(-1).to(flat.device), ignore_index=-100)
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class BackboneForQuestionAnswering(_BackboneHead):
    """Extractive QA: a start and an end logit per token. On a causal backbone a token's
    logits are read from its left context only: put the question before the context."""

    def n_outputs(self, config) -> int:
        return 2

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        inputs_embeds=None,
        start_positions=None,
        end_positions=None,
        **kw,
    ):
        import torch.nn.functional as F
        from transformers.modeling_outputs import QuestionAnsweringModelOutput

        outputs, logits = self._hidden_and_logits(input_ids, attention_mask, position_ids, inputs_embeds, kw)
        start_logits, end_logits = (x.squeeze(-1).contiguous() for x in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            # As transformers' QA heads: a position past the sequence (an answer cut off by
            # truncation) is clamped to an ignored index; the loss is the mean of both ends'.
            ignored = start_logits.shape[1]
            starts = start_positions.view(-1).clamp(0, ignored).to(start_logits.device)
            ends = end_positions.view(-1).clamp(0, ignored).to(end_logits.device)
            loss = (
                F.cross_entropy(start_logits.float(), starts, ignore_index=ignored)
                + F.cross_entropy(end_logits.float(), ends, ignore_index=ignored)
            ) / 2
        return QuestionAnsweringModelOutput(
            loss=loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class BackboneForSequenceClassification(_BackboneHead):
    """A label per sequence, from one token's vector: on a causal backbone the last
    non-padding token (the only one that has seen the whole sequence), on an encoder the
    first (``[CLS]``/``<s>``). Cross-entropy; mean squared error when there is one label."""

    def n_outputs(self, config) -> int:
        return config.num_labels

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None, labels=None, **kw):
        import torch
        import torch.nn.functional as F
        from transformers.modeling_outputs import SequenceClassifierOutput

        from alignfreeze.models.layers import is_decoder

        outputs, token_logits = self._hidden_and_logits(input_ids, attention_mask, position_ids, inputs_embeds, kw)
        batch, length = token_logits.shape[:2]
        if not is_decoder(self.config):
            index = torch.zeros(batch, dtype=torch.long, device=token_logits.device)
        elif attention_mask is None:
            index = torch.full((batch,), length - 1, dtype=torch.long, device=token_logits.device)
        else:  # the last position the mask keeps, whichever side the padding is on
            positions = torch.arange(length, device=token_logits.device)
            index = (attention_mask.to(token_logits.device).bool() * positions).amax(dim=1)
        logits = token_logits[torch.arange(batch, device=token_logits.device), index]
        loss = None
        if labels is not None:
            labels = labels.to(logits.device)
            if logits.shape[-1] == 1:
                loss = F.mse_loss(logits.float().squeeze(-1), labels.float())
            else:
                loss = F.cross_entropy(logits.float(), labels.view(-1))
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


_HEADS = {
    "token": (BackboneForTokenClassification, "ForTokenClassification"),
    "sequence": (BackboneForSequenceClassification, "ForSequenceClassification"),
    "qa": (BackboneForQuestionAnswering, "ForQuestionAnswering"),
}


@functools.cache
def _our_head_class(config_class: type, head: str) -> Any:
    """Our ``head`` class for ``config_class``: the head mixed into the backbone's own
    ``PreTrainedModel`` class, named after the backbone (``Gemma3TextModel`` ->
    ``Gemma3TextForTokenClassification``). :func:`head_class` registers it."""
    from transformers import AutoModel, PreTrainedModel

    backbone = AutoModel._model_mapping[config_class]
    family = next(c for c in backbone.__mro__[1:] if issubclass(c, PreTrainedModel) and c is not PreTrainedModel)
    mixin, suffix = _HEADS[head]
    name = backbone.__name__.removesuffix("Model") + suffix
    cls = type(
        name,
        (mixin, family),
        {
            "config_class": config_class,
            "base_model_prefix": backbone.base_model_prefix,
            "__module__": __name__,
            "__doc__": f"{mixin.__doc__}\n\n    Built by alignfreeze for {backbone.__name__} (no such class in transformers).",
        },
    )
    return cls
