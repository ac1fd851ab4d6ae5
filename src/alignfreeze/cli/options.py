"""Command-line options derived from config fields, so that a setting, its default and its
help text are written once, in the config class.

* :func:`config_options` gives a command one ``--option`` per field of a config class (or of
  a family of config classes, such as the aligners, told apart by a name option) and hands
  the command the built config;
* :func:`field_option` gives one option for one field (``--seed`` from ``RunConfig.seed``);
* :func:`signature_default` gives an option that is a function's argument the function's
  default (``--resamples`` from ``correlate(..., resamples=2000)``).

Values are passed to the config class as text and validated there, so the command line
accepts exactly what a YAML file accepts (``--steps match``, ``--modes weak,strong``).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from pydantic import BaseModel, ValidationError

from alignfreeze.errors import AlignfreezeError


@functools.cache
def _source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module {module}")
    return Path(spec.origin).read_text(encoding="utf-8")


def _header(module: str, name: str) -> ast.FunctionDef:
    """The ``def`` of top-level function ``name`` in ``module``, parsed from its first lines
    alone (parsing whole modules for every command would slow ``--help`` down)."""
    found = re.search(rf"^def {name}\(", _source(module), re.MULTILINE)
    if found is None:
        raise TypeError(f"{module} has no function {name}")
    lines = _source(module)[found.start() :].splitlines()
    for end in range(1, len(lines) + 1):
        with contextlib.suppress(SyntaxError):  # not the whole header yet
            return ast.parse("\n".join(lines[:end]) + "\n    pass").body[0]
    raise TypeError(f"{module}.{name}: unreadable signature")


def signature_default(function: str, name: str) -> Any:
    """The default of argument ``name`` of ``function`` (``"module:name"``), for the option
    that passes it: ``default=signature_default("alignfreeze.analysis.correlation:correlate",
    "seed")``. It is read from the module's source, not imported, since that module may
    import torch and ``--help`` must not; a test checks each against ``inspect.signature``.
    A tuple default is given as a list (an option's multiple values)."""
    module, _, qualname = function.partition(":")
    arguments = _header(module, qualname).args
    positional = arguments.posonlyargs + arguments.args
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(arguments.defaults) :]], arguments.defaults))
    defaults |= {a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None}
    if name not in defaults:
        raise TypeError(f"{function} has no argument {name!r} with a default")
    value = ast.literal_eval(defaults[name])
    return list(value) if isinstance(value, tuple) else value


def _metavar(annotation) -> str:
    """``a|b`` for a Literal, ``INT|match`` for a union, ``A,B`` for a list, ``FLOAT`` for a type."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(map(str, args))
    if origin in (typing.Union, types.UnionType):
        return "|".join(_metavar(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        return _metavar(args[0]).replace("|", ",") + ",..." if args else "A,B"
    return getattr(annotation, "__name__", str(annotation)).upper()


def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) in (list, tuple)


def _shown(default) -> str:
    if default is None:
        return "null"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, (list, tuple)):
        return ",".join(map(str, default))
    return str(default)


def help_text(cls: type[BaseModel], name: str, prefix: str = "") -> str:
    """A field's description and default, as an option's help."""
    info = cls.model_fields[name]
    described = info.description or name.replace("_", " ")
    return f"{prefix}{described} (default: {_shown(info.get_default(call_default_factory=True))})"


def _annotation(cls: type[BaseModel], name: str, flag: str, prefix: str = ""):
    """An option that defaults to None (the config's default applies) and takes text, or a
    bool for bool fields (``--flag/--no-flag``)."""
    info = cls.model_fields[name]
    text = help_text(cls, name, prefix)
    if info.annotation is bool:
        return Annotated[Optional[bool], typer.Option(f"{flag}/--no-{flag[2:]}", help=text, show_default=False)]
    return Annotated[
        Optional[str], typer.Option(flag, help=text, show_default=False, metavar=_metavar(info.annotation))
    ]


def _bounds(info) -> dict:
    """``min`` / ``max`` of a number field's ``ge``, ``gt``, ``le``, ``lt`` constraints, for
    ``typer.Option`` (an integer ``gt=0`` is ``min=1``)."""
    import annotated_types

    if info.annotation not in (int, float):
        return {}
    step = 1 if info.annotation is int else 0
    bounds = {}
    for constraint in info.metadata:
        if isinstance(constraint, annotated_types.Ge):
            bounds["min"] = constraint.ge
        elif isinstance(constraint, annotated_types.Gt) and step:
            bounds["min"] = constraint.gt + step
        elif isinstance(constraint, annotated_types.Le):
            bounds["max"] = constraint.le
        elif isinstance(constraint, annotated_types.Lt) and step:
            bounds["max"] = constraint.lt - step
    return bounds


def _validator(cls: type[BaseModel], name: str):
    """An option callback that validates the value as the field does (its type, choices and
    bounds) and passes it on as given: a bad one fails as the option's, before any work."""
    from pydantic import TypeAdapter

    info = cls.model_fields[name]
    adapter = TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)

    def check(value):
        if value is not None:
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                problems = [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
                raise typer.BadParameter(f"{value!r}: {'; '.join(problems)}") from None
        return value

    return check


def field_option(cls: type[BaseModel], name: str, flag: str | None = None, help: str | None = None) -> Any:
    """One option for one field, its default, help, bounds (``ge``, ``le``...) and validation
    taken from the field: for a command argument written ``seed: int = field_option(RunConfig, "seed")``."""
    info = cls.model_fields[name]
    flag = flag or "--" + name.replace("_", "-")
    text = help or info.description or name.replace("_", " ")
    default = info.get_default(call_default_factory=True)
    if info.annotation is bool:
        return typer.Option(default, f"{flag}/--no-{flag[2:]}", help=text)
    if not isinstance(default, (str, int, float, type(None))):
        default = str(default)  # a typed value (a FreezeSpec) is given and shown as its text
    metavar = _metavar(info.annotation) if typing.get_origin(info.annotation) else None
    return typer.Option(default, flag, help=text, metavar=metavar, callback=_validator(cls, name), **_bounds(info))


@dataclass
class Configs:
    """The options of one config argument of a command.

    ``classes`` is one config class, or a family (name -> class) chosen by the command's
    ``select`` option, whose fields are offered once each (a field several classes share
    is one option). ``rename`` maps a field to another option name where two would clash,
    per class name for a family (``{"eflomal": {"model": "eflomal_model"}}``) or flat for
    one class; ``exclude`` leaves fields to the command, and ``fill`` (given the command's
    own arguments) supplies their values."""

    argument: str
    classes: type[BaseModel] | dict[str, type[BaseModel]]
    rename: dict = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    select: str | None = None
    fill: Optional[typing.Callable[[dict], dict]] = None

    def family(self) -> dict[str, type[BaseModel]]:
        return self.classes if isinstance(self.classes, dict) else {"": self.classes}

    def option_name(self, class_name: str, name: str) -> str:
        rename = self.rename.get(class_name, {}) if isinstance(self.classes, dict) else self.rename
        return rename.get(name, name)


def _build(cls: type[BaseModel], values: dict, flags: dict[str, str] | None = None) -> BaseModel:
    """``cls(**values)``; its validation errors in one line, each naming the option (``flags``:
    field -> ``--option``) and the value given."""
    from alignfreeze.experiments.config import validation_message

    try:
        return cls(**values)
    except ValidationError as exc:
        flags = flags or {}
        problems: dict[str, list[str]] = {}  # field -> its problems (one per member of a union)
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            if name not in flags:
                raise AlignfreezeError(validation_message(exc)) from None
            problems.setdefault(name, []).append(error["msg"].removeprefix("Value error, "))
        parts = [f"{flags[name]} {values[name]!r}: {', or '.join(texts)}" for name, texts in problems.items()]
        raise AlignfreezeError("; ".join(parts)) from None


def config_options(*groups: Configs | tuple):
    """Give a command one ``--option`` per config field and pass it the built configs:
    ``@config_options(Configs("realignment", RealignConfig))`` fills the command's
    ``realignment`` argument with a :class:`RealignConfig` made of the options given (the
    class's defaults for the others). A tuple ``(argument, cls)`` is short for ``Configs``."""
    groups = tuple(g if isinstance(g, Configs) else Configs(*g) for g in groups)

    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        arguments = {g.argument for g in groups}
        kept = [p for p in signature.parameters.values() if p.name not in arguments]
        taken = {p.name for p in kept}
        # option parameter -> (group, [(class name, field)])
        fields: dict[str, tuple[Configs, list[tuple[str, str]]]] = {}
        for group in groups:
            for class_name, cls in group.family().items():
                for name in cls.model_fields:
                    if name in group.exclude or (group.select and name == "name"):
                        continue
                    parameter = group.option_name(class_name, name)
                    if parameter in taken:
                        raise TypeError(f"option --{parameter} of {cls.__name__} clashes with the command's own")
                    if parameter in fields and fields[parameter][0] is not group:
                        raise TypeError(f"option --{parameter} is a field of two configs: rename one")
                    fields.setdefault(parameter, (group, []))[1].append((class_name, name))
        added = []
        for parameter, (group, targets) in fields.items():
            family = group.family()
            class_name, name = targets[0]
            owners = [owner for owner, _ in targets]
            # A field only some aligners have says whose it is: "dictionary: ...".
            prefix = f"{', '.join(owners)}: " if class_name and len(owners) < len(family) else ""
            annotation = _annotation(family[class_name], name, "--" + parameter.replace("_", "-"), prefix)
            added.append(
                inspect.Parameter(parameter, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
            )

        @functools.wraps(command)
        def wrapper(**kwargs):
            given = {parameter: kwargs.pop(parameter, None) for parameter in fields}
            for group in groups:
                family = group.family()
                chosen = kwargs[group.select] if group.select else ""
                if chosen not in family:
                    raise AlignfreezeError(f"--{group.select} {chosen!r}: use one of {', '.join(family)}")
                cls = family[chosen]
                values, flags = {}, {}
                for parameter, (owner, targets) in fields.items():
                    if owner is not group or given[parameter] is None:
                        continue
                    names = [name for class_name, name in targets if class_name == chosen]
                    if not names:
                        raise AlignfreezeError(
                            f"--{parameter.replace('_', '-')} does not apply to --{group.select} {chosen}"
                        )
                    value = given[parameter]
                    if isinstance(value, str) and _is_list(cls.model_fields[names[0]].annotation):
                        value = [v.strip() for v in value.split(",") if v.strip()]
                    values[names[0]] = value
                    flags[names[0]] = "--" + parameter.replace("_", "-")
                if group.fill:
                    values.update(group.fill(kwargs))
                kwargs[group.argument] = _build(cls, values, flags)
            return command(**kwargs)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + added
        wrapper.__signature__ = signature.replace(parameters=parameters)
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer must read the new signature, not the command's
        return wrapper

    return decorate
