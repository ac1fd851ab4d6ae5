"""alignfreeze: cross-lingual realignment research on multilingual encoders.

The package is laid out as the pipeline it implements:
``data`` -> ``align`` -> ``realign`` -> ``finetune`` -> ``evaluate`` -> ``analysis`` -> ``experiments``.
``models`` holds the embedded default encoder (``e5-small``) and model-name resolution.
Everything the CLI does is a function here, usable from a notebook.
"""

from alignfreeze.errors import AlignfreezeError, DataFormatError

__version__ = "0.1.0"
__all__ = ["AlignfreezeError", "DataFormatError", "__version__"]
