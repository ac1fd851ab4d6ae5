"""How a tokenizer pads, made the same for encoders and decoders.

Batches are padded on the right with an attention mask, by hand (``pad_ids`` of
:mod:`alignfreeze.realign.batches`) or by the tokenizer (``padding=True``). Two things
differ in a decoder's tokenizer:

* it may have no pad token (Llama, Mistral): the end-of-sequence token is used instead. Under
  the attention mask, and on the right, a pad token's identity never reaches a real token;
* it may pad on the left (Llama's and Gemma's tokenizers do, for generation). A causal LM
  numbers positions from the start of the row whatever the mask, so left padding shifts
  every real token's position and changes its vectors; on the right a sentence's vectors
  are the same alone or in a batch.

:func:`prepare_padding` sets both, once, where a tokenizer is loaded. An encoder's tokenizer
(a pad token, right padding) is left as it is.
"""

from __future__ import annotations


def prepare_padding(tokenizer):
    """``tokenizer`` set to pad on the right, with its end-of-sequence token as the pad token
    where it has none (see the module docstring); returned for chaining.

    Example::

        tokenizer = prepare_padding(AutoTokenizer.from_pretrained("Qwen/Qwen2.5-0.5B"))
    """
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "padding_side", "right") != "right":
        tokenizer.padding_side = "right"
    return tokenizer
