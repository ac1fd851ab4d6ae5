"""Aligner configurations: one typed config per aligner, a registry from names to
configs, and :func:`build_aligner`, the one place an aligner is built from its config.

A config is given by name (``aligner: dictionary``) or as a mapping with its settings
(``aligner: {name: dictionary, unique_source: any_translation}``). Every aligner shares the
two link filters that the AlignFreeze reference applies to all its aligners
(``multilingual_eval/datasets/realignment_task.py`` lines 37-57, always on there):

* ``keep_one_to_one``: drop every link of a word that takes part in several links;
* ``drop_identical``: then drop links between identical strings.

Adding an aligner: in its own module, its :class:`~alignfreeze.align.base.WordAligner` and a
config class (an :class:`~alignfreeze.align.base.AlignerSettings` with a ``name`` literal and
a ``build`` method); then one line in :data:`ALIGNER_CONFIGS` here, or, from code outside the
package, :func:`register_aligner` (see ``docs/how-to/add-an-aligner.md``).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError

from alignfreeze.align.base import AlignerSettings, WordAligner
from alignfreeze.align.dictionary import DictionaryAlignerConfig
from alignfreeze.align.embedding import EmbeddingAlignerConfig
from alignfreeze.align.external import PharaohAlignerConfig
from alignfreeze.align.statistical import EflomalAlignerConfig
from alignfreeze.errors import AlignfreezeError

#: Aligner name -> config class. A new aligner adds one line here.
ALIGNER_CONFIGS: dict[str, type[AlignerSettings]] = {
    "dictionary": DictionaryAlignerConfig,
    "eflomal": EflomalAlignerConfig,
    "embedding": EmbeddingAlignerConfig,
    "pharaoh": PharaohAlignerConfig,
}

#: Any aligner config of the package, told apart by its ``name``: the type of experiment
#: configs' ``aligner`` fields (built when they are defined, from the aligners listed above).
AlignerConfig = Annotated[Union[tuple(ALIGNER_CONFIGS.values())], Field(discriminator="name")]


def register_aligner(config_class: type[AlignerSettings]) -> type[AlignerSettings]:
    """Add an aligner from outside the package: its config class, named by its ``name``
    literal, joins :data:`ALIGNER_CONFIGS`, so :func:`parse_aligner`, :func:`build_aligner`
    and :func:`align_with` take it by name (experiment configs take the aligners listed in
    :data:`ALIGNER_CONFIGS` itself). Returns the class, so it can decorate it.

    Example (the whole aligner is in ``docs/how-to/add-an-aligner.md``)::

        from alignfreeze.align.config import register_aligner

        @register_aligner
        class DiagonalAlignerConfig(AlignerSettings):
            name: Literal["diagonal"] = "diagonal"

            def build(self, pair, catalog=None, model=None):
                return DiagonalAligner()
    """
    field = config_class.model_fields.get("name")
    name = field.default if field is not None else None
    if not isinstance(name, str) or not name:
        raise AlignfreezeError(f"{config_class.__name__} needs a `name: Literal[...]` field with its name as default")
    if name in ALIGNER_CONFIGS and ALIGNER_CONFIGS[name] is not config_class:
        raise AlignfreezeError(f"an aligner named {name!r} exists already ({ALIGNER_CONFIGS[name].__name__})")
    if config_class.build is AlignerSettings.build:
        raise AlignfreezeError(f"{config_class.__name__} has no build method (it makes the aligner for a pair)")
    ALIGNER_CONFIGS[name] = config_class
    return config_class


def aligner_mapping(value: Any) -> Any:
    """Normalise an aligner given by name (``"dictionary"``) to its mapping form."""
    if isinstance(value, str):
        if value not in ALIGNER_CONFIGS:
            raise ValueError(f"unknown aligner {value!r} (allowed: {', '.join(ALIGNER_CONFIGS)})")
        return {"name": value}
    return value


@functools.cache
def _adapter(configs: tuple[type[AlignerSettings], ...]) -> TypeAdapter:
    return TypeAdapter(Annotated[Union[configs], Field(discriminator="name")])


def parse_aligner(value: Any) -> AlignerSettings:
    """An aligner config from a name or a mapping (a clear one-line error otherwise).

    Example::

        af.parse_aligner({"name": "eflomal", "chunk_pairs": 4096})   # EflomalAlignerConfig
    """
    try:
        return _adapter(tuple(ALIGNER_CONFIGS.values())).validate_python(aligner_mapping(value))
    except (ValidationError, ValueError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise AlignfreezeError(f"invalid aligner {value!r}: {detail}") from None


def build_aligner(
    config: AlignerSettings | str | dict, pair: str, catalog=None, model: str | None = None
) -> WordAligner:
    """The aligner a config describes, for one language pair: the one place an aligner is built
    from its settings (each config class's ``build``, found through :data:`ALIGNER_CONFIGS`).

    Example::

        aligner = af.build_aligner(af.EflomalAlignerConfig(), "en-fr")
        aligner.align_words([["a", "cat"]], [["un", "chat"]])
    """
    config = config if isinstance(config, AlignerSettings) else parse_aligner(config)
    return config.build(pair, catalog, model)


def align_with(
    config: AlignerSettings | str | dict,
    pairs,
    src_lang: str,
    tgt_lang: str,
    *,
    catalog=None,
    model: str | None = None,
    pretokenized: bool = False,
    use_cache: bool = True,
    on_progress=None,
):
    """Align sentence pairs with the aligner a config describes, its link filters applied:
    :func:`build_aligner` then :func:`~alignfreeze.align.base.align_corpus`. What
    ``alignfreeze align`` and a run's realignment data use.

    Args:
        config: an aligner config, its name (``"dictionary"``) or a mapping (``{"name": ...}``).
        pairs: sentence pairs (:func:`read_parallel`).
        src_lang, tgt_lang: the languages.
        catalog: finds the files the config does not name (default: the default data root).
        model: the embedding aligner's encoder when its config names none.

    Example::

        pairs = af.read_parallel("un.en-fr.txt")            # "source ||| target" lines
        corpus = af.align_with({"name": "dictionary", "keep_one_to_one": True}, pairs, "en", "fr")
        corpus.save("un.en-fr.jsonl")
    """
    from alignfreeze.align.base import align_corpus

    config = config if isinstance(config, AlignerSettings) else parse_aligner(config)
    aligner = config.build(f"{src_lang}-{tgt_lang}", catalog, model)
    return align_corpus(
        pairs,
        aligner,
        src_lang,
        tgt_lang,
        pretokenized,
        config.drop_identical,
        use_cache,
        on_progress,
        keep_one_to_one=config.keep_one_to_one,
    )
