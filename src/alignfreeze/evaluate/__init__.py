"""Zero-shot evaluation: task metrics (this package) and scoring of every target language
(:func:`alignfreeze.finetune.tasks.Task.evaluate`)."""

from alignfreeze.evaluate.metrics import accuracy, answer_tokens, ner_scores, qa_exact, qa_f1, qa_scores

__all__ = ["accuracy", "answer_tokens", "ner_scores", "qa_exact", "qa_f1", "qa_scores"]
