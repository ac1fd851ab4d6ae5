"""Fine-tuning on English (optionally with joint realignment) for the four tasks."""

from alignfreeze.callable_package import make_callable
from alignfreeze.finetune.config import EvaluationSettings, TrainingSettings, resolve_training
from alignfreeze.finetune.tasks import PRIMARY_METRICS, TASKS, Task, get_task
from alignfreeze.finetune.trainer import FinetuneResult, finetune, total_optimizer_steps

__all__ = [
    "PRIMARY_METRICS",
    "TASKS",
    "EvaluationSettings",
    "FinetuneResult",
    "Task",
    "TrainingSettings",
    "finetune",
    "get_task",
    "resolve_training",
    "total_optimizer_steps",
]

# af.finetune(...) calls the function; the package stays importable (alignfreeze.callable_package).
make_callable(__name__, finetune)
