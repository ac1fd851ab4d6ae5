"""Which languages to realign on: ``realignment_languages`` in an experiment, expanded once,
when the config is read, into the run's ``realignment_pairs`` (so the selected list is in
every run's resolved config and in ``--dry-run``).

A selection is one of:

* a list of languages (``[fr, de, hau_Latn]``; NLLB-200 codes become ours,
  :func:`~alignfreeze.data.languages.from_nllb_code`);
* a name: ``all`` (every language the realignment dataset has with the source language, as
  its download listing ``hub_configs.json`` gives it, the same on every machine), or a
  named selection of the emnlp-2026 reference (:data:`NAMED_SELECTIONS`: ``xt_afri``,
  ``most_uriel_en_40``);
* a mapping (:class:`LanguageSelection`): ``{select: all | most_distant, pool:, from:, n:,
  features:, script:, family:}``. The candidates are ``pool`` (a named selection or a list;
  default: ``all``), kept where ``script`` and ``family`` match; ``most_distant`` then keeps
  the ``n`` farthest from ``from`` by URIEL distance (:func:`uriel_distance`).

Example::

    from alignfreeze.data.selection import expand_languages
    expand_languages({"select": "most_distant", "pool": "xt_afri", "n": 5})
    expand_languages({"select": "all", "pool": "xt_afri", "script": "Cyrl"})   # ['bg', 'ru', 'uk', 'kk']
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alignfreeze.data.languages import from_nllb_code, script_of
from alignfreeze.data.refs import ParallelRef
from alignfreeze.errors import AlignfreezeError

if TYPE_CHECKING:  # numpy is imported where URIEL is read: the command line starts without it
    import numpy as np

#: The emnlp-2026 reference's hard-coded selections, in its codes and its order
#: (felixgaschi/emnlp-2026-code-submission @ f85fd628, ``scripts/ours/final_run_script.sh``).
#: ``xt_afri`` (lines 23-24): the 65 languages it samples from: 38 OPUS-100 codes and 27
#: NLLB-200 ones. ``most_uriel_en_40`` (lines 27-28): "40 languages with the most Uriel
#: distance to English" (its README.md line 103), a subset of ``xt_afri``, listed
#: alphabetically by English name; the repository does not compute it (nothing there reads
#: URIEL), so which features and distance gave it is unknown.
REFERENCE_SELECTIONS: dict[str, tuple[str, ...]] = {
    "xt_afri": tuple(
        "af ar az bg bn de el es et eu fa fi fr gu he hi hu id it ja ka ko lt ml ms nl pa pl pt ro ru ta th tr uk ur "
        "vi zh amh_Ethi bam_Latn ewe_Latn fon_Latn hau_Latn ibo_Latn kin_Latn lin_Latn lug_Latn luo_Latn mos_Latn "
        "nya_Latn gaz_Latn sna_Latn swh_Latn tsn_Latn twi_Latn wol_Latn xho_Latn yor_Latn zul_Latn mya_Mymr jav_Latn "
        "tgl_Latn tel_Telu mar_Deva kaz_Cyrl".split()
    ),
    "most_uriel_en_40": tuple(
        "af ar az eu mya_Mymr zh ewe_Latn fon_Latn fr lug_Latn ka el hau_Latn he ibo_Latn ja kaz_Cyrl kin_Latn ko "
        "lin_Latn ms ml mar_Deva nya_Latn gaz_Latn fa ru sna_Latn es tgl_Latn ta tel_Telu th tr twi_Latn ur vi "
        "xho_Latn yor_Latn zul_Latn".split()
    ),
}
#: The named selections in our codes.
NAMED_SELECTIONS: dict[str, tuple[str, ...]] = {
    name: tuple(from_nllb_code(code) for code in codes) for name, codes in REFERENCE_SELECTIONS.items()
}

#: lang2vec feature sets: name -> (file in the lang2vec wheel, source, feature-name prefix),
#: as lang2vec 1.1.2 defines them (``lang2vec/lang2vec.py`` ``FEATURE_SETS_DICT``).
FEATURE_SETS = {
    "syntax_knn": ("feature_predictions.npz", "predicted", "S_"),
    "phonology_knn": ("feature_predictions.npz", "predicted", "P_"),
    "inventory_knn": ("feature_predictions.npz", "predicted", "INV_"),
    "syntax_wals": ("features.npz", "WALS", "S_"),
    "fam": ("family_features.npz", "FAM", ""),
    "geo": ("geocoord_features.npz", "GEOCOORDS", ""),
}
#: ``features: uriel``: the feature sets averaged for a URIEL distance. URIEL's own
#: distances (Littell et al., 2017) are cosine distances over one kind of feature each
#: (syntactic, phonological, inventory, genetic, geographic); ``uriel`` averages the five.
URIEL_FEATURES = ("syntax_knn", "phonology_knn", "inventory_knn", "fam", "geo")


class LanguageSelection(BaseModel):
    """A computed selection of realignment languages (see the module docstring).

    Example::

        from alignfreeze.data.selection import LanguageSelection
        LanguageSelection.model_validate({"select": "most_distant", "from": "en", "n": 40, "pool": "xt_afri"})
        # in YAML:  realignment_languages: {select: most_distant, from: en, n: 40, features: uriel}
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    select: Literal["all", "most_distant"] = "all"
    pool: Union[str, list[str]] = Field(
        "all", description="the candidates: 'all' (the dataset's languages), a named selection, or a list"
    )
    from_: str = Field("en", alias="from", description="most_distant: the language distances are measured from")
    n: int | None = Field(None, ge=1, description="most_distant: how many languages to keep")
    features: Union[str, list[str]] = Field(
        "uriel", description="most_distant: lang2vec feature sets ('uriel': " + ", ".join(URIEL_FEATURES) + ")"
    )
    script: Union[str, list[str], None] = Field(None, description="keep languages written in this ISO 15924 script")
    family: Union[str, list[str], None] = Field(
        None, description="keep languages of this family or branch, as URIEL names it (Indo-European, Narrow Bantu)"
    )

    @field_validator("features")
    @classmethod
    def _features(cls, value):
        sets = feature_sets(value)
        unknown = [s for s in sets if s not in FEATURE_SETS]
        if unknown:
            raise ValueError(f"unknown feature set {unknown[0]!r} (allowed: uriel, {', '.join(FEATURE_SETS)})")
        return value

    @model_validator(mode="after")
    def _needs_n(self) -> "LanguageSelection":
        if self.select == "most_distant" and self.n is None:
            raise ValueError("select: most_distant needs n (how many languages)")
        return self


def feature_sets(features: str | list[str]) -> tuple[str, ...]:
    """``uriel``, a lang2vec set name, ``a+b`` or a list, as the tuple of set names."""
    names = features.split("+") if isinstance(features, str) else list(features)
    out: list[str] = []
    for name in names:
        out.extend(URIEL_FEATURES if name == "uriel" else [name])
    return tuple(out)


# ------------------------------------------------------------------ URIEL through lang2vec
def _data_file(filename: str):
    """A file of the URIEL data lang2vec ships in its wheel, found through the installed
    distribution, not imported: lang2vec 1.1.2's module imports ``pkg_resources`` (gone from
    recent setuptools), and its wheel also installs a ``bin/lang2vec.py`` script that shadows
    the package for any console script in the same folder (``alignfreeze``)."""
    from importlib import metadata

    try:
        distribution = metadata.distribution("lang2vec")
    except metadata.PackageNotFoundError:
        raise AlignfreezeError(
            "URIEL language features need the lang2vec package: pip install alignfreeze[select]"
        ) from None
    return Path(str(distribution.locate_file(f"lang2vec/data/{filename}")))


@functools.cache
def _index(filename: str) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """``(URIEL code -> row, feature names, sources)`` of one of lang2vec's arrays: the small
    parts, kept; the values (up to 113 MB) are read when needed and not kept."""
    import numpy as np

    with np.load(_data_file(filename)) as data:
        rows = {str(code): i for i, code in enumerate(data["langs"])}
        return rows, data["feats"], data["sources"]


@functools.cache
def _letter_codes() -> dict[str, str]:
    return json.loads(_data_file("letter_codes.json").read_text(encoding="utf-8"))


def uriel_code(code: str) -> str:
    """Our language code as URIEL names it (639-3; the macrolanguage for a 639-1 code)."""
    return _letter_codes().get(code, code)


def uriel_vectors(codes: list[str], feature_set: str) -> dict[str, np.ndarray]:
    """Each language's (ours) vector of one lang2vec feature set; -1 marks a missing value."""
    import numpy as np

    filename, source, prefix = FEATURE_SETS[feature_set]
    rows, feats, sources = _index(filename)
    missing = [code for code in codes if uriel_code(code) not in rows]
    if missing:
        raise AlignfreezeError(
            f"language {missing[0]!r} (URIEL {uriel_code(missing[0])!r}) is not in lang2vec's URIEL data"
        )
    features = np.array([str(f).startswith(prefix) for f in feats])
    column = int(np.flatnonzero(sources == source)[0])
    with np.load(_data_file(filename)) as data:
        values = data["data"]
        return {code: values[rows[uriel_code(code)], features, column].astype(float) for code in codes}


def uriel_vector(code: str, feature_set: str) -> np.ndarray:
    """Language ``code``'s vector of one lang2vec feature set (:func:`uriel_vectors`)."""
    return uriel_vectors([code], feature_set)[code]


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine similarity over the dimensions both vectors know (not -1); 1.0 when they
    share none or one is all zeros."""
    import numpy as np

    known = (a != -1) & (b != -1)
    a, b = a[known], b[known]
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 if norm == 0 else 1.0 - float(a @ b) / norm


def uriel_distances(source: str, codes: list[str], features: str | list[str] = "uriel") -> dict[str, float]:
    """The URIEL distance from ``source`` to each of ``codes``: the mean, over the feature
    sets (:func:`feature_sets`), of the cosine distance between their lang2vec vectors.
    lang2vec 1.1.2 has no distance function, so it is computed here."""
    sets = feature_sets(features)
    total = dict.fromkeys(codes, 0.0)
    for feature_set in sets:
        vectors = uriel_vectors([source, *codes], feature_set)
        for code in codes:
            total[code] += cosine_distance(vectors[source], vectors[code])
    return {code: value / len(sets) for code, value in total.items()}


def uriel_distance(a: str, b: str, features: str | list[str] = "uriel") -> float:
    """The URIEL distance between languages ``a`` and ``b`` (:func:`uriel_distances`).

    Example::

        from alignfreeze.data.selection import uriel_distance
        uriel_distance("en", "de", "syntax_knn") < uriel_distance("en", "ja", "syntax_knn")   # True
    """
    return uriel_distances(a, [b], features)[b]


def family_names(codes: list[str]) -> dict[str, set[str]]:
    """The families and branches URIEL places each language in (``Indo-European``,
    ``Germanic``...)."""

    names = _index(FEATURE_SETS["fam"][0])[1]  # fam takes every feature (no prefix)
    return {
        code: {str(name).removeprefix("F_") for name in names[vector == 1]}
        for code, vector in uriel_vectors(codes, "fam").items()
    }


# ------------------------------------------------------------------ expansion
def dataset_languages(dataset: str | None, split: str, source: str = "en") -> list[str]:
    """The languages X for which the parallel ``dataset`` has a ``source``-X pair in
    ``split``, as its download listing (``hub_configs.json``) gives them, sorted."""
    from alignfreeze.data.sources import NoSourceError, find_source, hub_configs

    try:
        origin = find_source("parallel", dataset)
    except NoSourceError as exc:
        raise AlignfreezeError(f"realignment_languages: all: {exc}") from None
    if origin.hub is None:
        raise AlignfreezeError(
            f"realignment_languages: all: {origin.title} has no download listing to read its languages from; "
            "give a list or a pool"
        )
    codes = {from_nllb_code(code) for config in hub_configs(origin.hub.path) for code in config.split("-")}
    out = []
    for code in sorted(codes - {source}):
        try:
            origin.origin(f"{source}-{code}", split, dataset)
        except (NoSourceError, AlignfreezeError):
            continue
        out.append(code)
    return out


def _as_list(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def _pool(pool: str | list[str], dataset: str | None, split: str, source: str) -> list[str]:
    if isinstance(pool, list):
        return [from_nllb_code(code) for code in pool]
    if pool == "all":
        return dataset_languages(dataset, split, source)
    if pool not in NAMED_SELECTIONS:
        raise AlignfreezeError(
            f"realignment_languages: unknown selection {pool!r} (allowed: all, {', '.join(NAMED_SELECTIONS)}, "
            "a list of languages, or a mapping with select:)"
        )
    return list(NAMED_SELECTIONS[pool])


def expand_languages(
    selection: str | list[str] | dict | LanguageSelection,
    dataset: str | None = None,
    split: str = "train",
    source: str = "en",
) -> list[str]:
    """The languages a ``realignment_languages`` value selects, in our codes (see the module
    docstring): a list or a named selection in its order; a computed one sorted (most
    distant first for ``most_distant``)."""
    if isinstance(selection, (str, list)):
        return [code for code in _pool(selection, dataset, split, source) if code != source]
    spec = selection if isinstance(selection, LanguageSelection) else LanguageSelection.model_validate(selection)
    candidates = [code for code in _pool(spec.pool, dataset, split, source) if code != spec.from_]
    scripts = _as_list(spec.script)
    if scripts is not None:
        candidates = [code for code in candidates if script_of(code) in scripts]
    families = _as_list(spec.family)
    if families is not None:
        placed = family_names(candidates)
        candidates = [code for code in candidates if placed[code] & set(families)]
    if spec.select == "all":
        return candidates
    distance = uriel_distances(spec.from_, candidates, spec.features)
    ranked = sorted(candidates, key=lambda code: (-distance[code], code))
    return ranked[: spec.n]


class RealignmentData(BaseModel):
    """The corpus the languages of ``realignment_languages`` are realigned on: each selected
    language X becomes the pair ``source``-X of ``dataset`` and ``split`` (the fields of a
    :class:`~alignfreeze.data.refs.ParallelRef`, with its defaults).

    Example::

        # in YAML:  realignment_data: {dataset: opus100, split: train}
    """

    model_config = ConfigDict(extra="forbid")
    source: str = Field("en", description="the other language of every pair")
    split: str = ParallelRef.model_fields["split"].default
    dataset: str | None = None
    limit: int | None = Field(None, ge=1)

    def pairs(self, languages: list[str]) -> list[ParallelRef]:
        """One :class:`ParallelRef` per language, in order."""
        return [
            ParallelRef(pair=f"{self.source}-{code}", split=self.split, dataset=self.dataset, limit=self.limit)
            for code in languages
        ]


def selected_pairs(selection, data: RealignmentData | None = None) -> list[ParallelRef]:
    """The realignment pairs a ``realignment_languages`` value and its ``realignment_data`` give."""
    data = data or RealignmentData()
    languages = expand_languages(selection, data.dataset, data.split, data.source)
    if not languages:
        raise AlignfreezeError("realignment_languages selects no language")
    return data.pairs(languages)
