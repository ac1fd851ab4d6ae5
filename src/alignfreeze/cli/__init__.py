"""The ``alignfreeze`` command line (:mod:`alignfreeze.cli.app`), its options derived from
the config classes (:mod:`alignfreeze.cli.options`) and its tables and bars
(:mod:`alignfreeze.cli.render`)."""

from alignfreeze.cli.app import app, main

__all__ = ["app", "main"]
