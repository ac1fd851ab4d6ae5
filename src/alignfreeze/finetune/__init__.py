"""Fine-tuning on English (optionally with joint realignment) for the four tasks.

Calling the package calls :func:`alignfreeze.finetune.trainer.finetune`. The settings load
without torch; the rest loads on first use (:mod:`alignfreeze.lazy`).

Example::

    af.finetune(model, tokenizer, task, features, training, seed=0)
"""

from typing import TYPE_CHECKING

from alignfreeze.finetune.config import EvaluationSettings, TrainingSettings, resolve_training
from alignfreeze.lazy import lazy_names

if TYPE_CHECKING:
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
__getattr__ = lazy_names(
    __name__,
    {
        "alignfreeze.finetune.tasks": ["PRIMARY_METRICS", "TASKS", "Task", "get_task"],
        "alignfreeze.finetune.trainer": ["FinetuneResult", "finetune", "total_optimizer_steps"],
    },
    main="finetune",
)
