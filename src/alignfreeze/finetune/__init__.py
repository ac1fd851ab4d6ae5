"""Fine-tuning on English (optionally with joint realignment) for the four tasks."""

from alignfreeze.finetune.config import TrainingSettings, resolve_training
from alignfreeze.finetune.tasks import TASKS, Scores, Task, get_task
from alignfreeze.finetune.trainer import FinetuneResult, finetune

__all__ = ["TASKS", "FinetuneResult", "Scores", "Task", "TrainingSettings", "finetune", "get_task", "resolve_training"]
