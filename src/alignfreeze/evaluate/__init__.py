"""Zero-shot evaluation: each task's predictions on a language's records (:mod:`.evaluation`)
and the metrics that score them (:mod:`.metrics`)."""

from alignfreeze.callable_package import make_callable
from alignfreeze.evaluate.evaluation import EVALUATORS, Scores, evaluate, pipeline_answers, predict_tags
from alignfreeze.evaluate.metrics import (
    accuracy,
    answer_tokens,
    ner_scores,
    qa_exact,
    qa_f1,
    qa_scores,
    reference_qa_scores,
    repair_bio,
)

__all__ = [
    "EVALUATORS",
    "Scores",
    "accuracy",
    "answer_tokens",
    "evaluate",
    "ner_scores",
    "pipeline_answers",
    "predict_tags",
    "qa_exact",
    "qa_f1",
    "qa_scores",
    "reference_qa_scores",
    "repair_bio",
]

# af.evaluate(...) calls the function; the package stays importable (alignfreeze.callable_package).
make_callable(__name__, evaluate)
