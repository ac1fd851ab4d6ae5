"""FreezeSpec parsing, layer discovery across architectures, and freezing mechanics."""

from __future__ import annotations

import pytest

from alignfreeze.errors import AlignfreezeError
from alignfreeze.models.layers import embeddings_module, transformer_layers
from alignfreeze.realign import FreezeSpec, frozen, frozen_parameters
from tiny_models import tiny_model


@pytest.mark.parametrize(
    "text,layers",
    [
        ("none", []),
        ("front", [0, 1, 2]),
        ("back", [4, 5, 6]),
        ("layers:0-2", [0, 1, 2]),
        ("layers:4", [4]),
        ("bottom:0", []),
        ("bottom:5", [0, 1, 2, 3, 4]),
        ("front+back", [0, 1, 2, 4, 5, 6]),
    ],
)
def test_spec_layers_for_an_odd_depth(text, layers):
    assert FreezeSpec.parse(text).frozen_layers(7) == layers


def test_bad_specs():
    with pytest.raises(AlignfreezeError, match=r"unknown freeze spec 'middle'.*allowed: none, front, back"):
        FreezeSpec.parse("middle")
    with pytest.raises(AlignfreezeError, match="outside the model's layers 0-11"):
        FreezeSpec.parse("layers:3-12").frozen_layers(12)
    with pytest.raises(AlignfreezeError, match="more layers than the model has"):
        FreezeSpec.parse("bottom:13").frozen_layers(12)


@pytest.mark.parametrize("kind", ["bert", "distilbert", "xlm-roberta", "deberta-v2"])
def test_layers_discovered_for_each_architecture(kind):
    model = tiny_model(kind, layers=6, vocab_size=100)
    name, layers = transformer_layers(model)
    assert len(layers) == 6
    assert embeddings_module(model)[0].endswith("embeddings")
    spec = FreezeSpec.parse("front+embeddings")
    params = {id(p) for p in frozen_parameters(model, spec)}
    expected = {id(p) for i in range(3) for p in layers[i].parameters()} | {
        id(p) for p in embeddings_module(model)[1].parameters()
    }
    assert params == expected


def test_frozen_restores_flags_and_front_keeps_embeddings_trainable():
    model = tiny_model(vocab_size=100, layers=4)
    _, layers = transformer_layers(model)
    with frozen(model, "front"):
        assert not any(p.requires_grad for p in layers[0].parameters())
        assert not any(p.requires_grad for p in layers[1].parameters())
        assert all(p.requires_grad for p in layers[2].parameters())
        assert model.embeddings.word_embeddings.weight.requires_grad
    assert all(p.requires_grad for p in model.parameters())
