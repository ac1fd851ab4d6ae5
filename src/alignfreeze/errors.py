"""User-facing errors.

Everything a user can cause with bad input (a malformed file, an unknown name, a bad
config field) raises a subclass of :class:`AlignfreezeError`. The CLI prints such an error
as one line and exits non-zero without a traceback; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from os import PathLike


class AlignfreezeError(Exception):
    """An error caused by the user's input or environment (a bad setting, a missing file),
    reported by the command line as one line without a traceback (exit status 2).

    Example::

        try:
            af.load_experiment("missing.yaml")
        except af.AlignfreezeError as exc:
            print(exc)
    """


class DataFormatError(AlignfreezeError):
    """A data file is missing, empty, undecodable or malformed.

    The message always names the file and, where one applies, the 1-based line number (and
    column), formatted like a compiler diagnostic: ``path:line[:column]: what is wrong``.

    Example::

        try:
            af.read_dataset_file("bad.conllu", "conllu")
        except af.DataFormatError as exc:
            print(exc)   # bad.conllu:12: expected 10 tab-separated fields, found 9
    """

    def __init__(self, path: str | PathLike[str], line: int | None, problem: str, column: int | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        if line is not None and column is not None:
            where += f":{column}"
        super().__init__(f"{where}: {problem}")
