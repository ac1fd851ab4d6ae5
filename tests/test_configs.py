"""Every shipped config validates, and the premise split keeps NLI evaluation clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignfreeze.data import NliExample
from alignfreeze.experiments import load_experiment
from alignfreeze.experiments.planning import load_records, premise_groups
from conftest import write

CONFIG_ROOT = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = sorted(CONFIG_ROOT.rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_validates(path):
    from alignfreeze.experiments.grid import load_grid

    _, runs, _ = load_grid(path)  # grid files and plain experiment files alike
    assert runs and len({r.run_id for r in runs}) == len(runs)
    if path.stem != "grid-demo":
        assert [r.run_id for r in load_experiment(path).runs()] == [r.run_id for r in runs]


#: The run ids of every shipped config, as sha256 of the ids joined by spaces (the first 16
#: hex digits): a run's id is its identity in every results folder, so a change to the
#: config classes must leave them as they are (or say in the CHANGELOG why they changed).
RUN_IDS = {
    "demo.yaml": (4, "0dc8ea37464fc439"),  # 16cc1df57d65 2797ebbae48d fd4efb33b311 b3c92329b98d
    "grid-demo.yaml": (7, "fdcf7a508dcc1bd1"),
    "llm-demo.yaml": (4, "75ff738e168b14aa"),  # 2257ed5c76a9 698ac5dfb801 12c51d6e5c54 795803667102
    "ner-small.yaml": (1, "fefba06cf5c1a10e"),  # 678bd04847bf
    "nli-small.yaml": (1, "f4e859e44a88704b"),  # a0017a6138bc
    "qa-small.yaml": (1, "6c193764514045ac"),  # c66047a77d6a
    "paper/ner.yaml": (60, "af82aebde9eb466a"),
    "paper/nli.yaml": (60, "99ea1797509ad9f5"),
    "paper/pos.yaml": (60, "8f3d6c9d9164abc5"),
    "paper/qa.yaml": (60, "12ebb86f2dca627e"),
    "successor/xnli-noaligner.yaml": (10, "1e2ac67d89ad80a7"),
    "successor/xnli-noaligner-demo.yaml": (2, "cb54902e789817e7"),  # a0017a6138bc (nli-small's) 3482bcb4a223
}


def test_the_run_ids_of_the_shipped_configs_do_not_change():
    import hashlib

    from alignfreeze.experiments.grid import load_grid

    assert sorted(RUN_IDS) == sorted(p.relative_to(CONFIG_ROOT).as_posix() for p in CONFIGS)
    for name, (count, digest) in RUN_IDS.items():
        ids = [r.run_id for r in load_grid(CONFIG_ROOT / name)[1]]
        assert (len(ids), hashlib.sha256(" ".join(ids).encode()).hexdigest()[:16]) == (count, digest), name


def test_model_and_models_are_one_setting():
    from alignfreeze.errors import AlignfreezeError
    from alignfreeze.experiments.config import ExperimentConfig
    from alignfreeze.experiments.grid import expand_grid

    base = {"task": "pos", "train": {"language": "en"}, "eval_languages": ["fr"], "methods": [{"method": "baseline"}]}
    one = ExperimentConfig(**base, model="e5-small").runs()
    assert [r.run_id for r in one] == [r.run_id for r in ExperimentConfig(**base, models=["e5-small"]).runs()]
    assert [r.run_id for r in expand_grid({**base, "model": ["e5-small"]})] == [r.run_id for r in one]
    with pytest.raises(ValueError, match="not both"):
        ExperimentConfig(**base, model="e5-small", models=["e5-small"])
    with pytest.raises(AlignfreezeError, match="not both"):
        expand_grid({**base, "model": "e5-small", "models": ["e5-small"]})


def test_run_points_grid_files_to_the_grid_command():
    from alignfreeze.errors import AlignfreezeError

    with pytest.raises(AlignfreezeError, match="alignfreeze grid"):
        load_experiment(Path(CONFIGS[0]).parent / "grid-demo.yaml")


def test_paper_presets_cover_the_grid():
    pos = load_experiment(Path(CONFIGS[0]).parent / "paper" / "pos.yaml").runs()
    assert len(pos) == 3 * 4 * 5
    assert {r.model for r in pos} == {
        "bert-base-multilingual-cased",
        "distilbert-base-multilingual-cased",
        "xlm-roberta-base",
    }
    assert {r.training.learning_rate for r in pos if r.model == "xlm-roberta-base"} == {7.5e-6}
    assert len([e for e in pos[0].eval if e.language != "en"]) == 34


def test_premise_split_is_disjoint_and_parallel(tmp_path):
    from alignfreeze.data import DataCatalog
    from alignfreeze.data.refs import DataRef

    rows_en, rows_fr = [], []
    for p in range(30):
        for h, label in enumerate(("entailment", "neutral", "contradiction")):
            rows_en.append(f"premise {p}\thyp {p}.{h}\t{label}")
            rows_fr.append(f"prémisse {p}\thyp {p}.{h}\t{label}")
    write(tmp_path / "xnli" / "dev-en.tsv", "\n".join(rows_en) + "\n")
    write(tmp_path / "xnli" / "dev-fr.tsv", "\n".join(rows_fr) + "\n")
    catalog = DataCatalog(tmp_path)
    train = load_records(catalog, "nli", DataRef(language="en", split="dev", premise_split="train"))
    test_fr = load_records(catalog, "nli", DataRef(language="fr", split="dev", premise_split="test"))
    train_ids = {r.premise.split()[-1] for r in train}
    test_ids = {r.premise.split()[-1] for r in test_fr}
    assert train_ids and test_ids and not train_ids & test_ids and len(train_ids | test_ids) == 30
    assert len(train) % 3 == 0 and len(test_fr) % 3 == 0
    assert premise_groups(
        [NliExample("a", "x", "neutral"), NliExample("a", "y", "neutral"), NliExample("b", "z", "neutral")]
    ) == [0, 0, 1]
