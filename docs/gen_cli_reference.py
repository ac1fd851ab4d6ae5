"""Build docs/reference/cli.md at `mkdocs build` time from the typer app itself.

Run by mkdocs-gen-files: it walks the click commands of ``alignfreeze.cli.app.app`` and
writes each one's help text and parameters, so the page cannot drift from the CLI. Only
the app object is relied on (not how the CLI builds its options).
"""

from __future__ import annotations

import importlib

import mkdocs_gen_files
import typer.main

PAGE = "reference/cli.md"


def cell(text: object) -> str:
    """One table cell: no newlines, and pipes escaped so the table stays a table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def default_of(param) -> str:
    default = getattr(param, "default", None)
    if default is None or callable(default) or not getattr(param, "show_default", True):
        return ""
    if getattr(param, "is_flag", False) and param.secondary_opts:
        return param.opts[0] if default else param.secondary_opts[0]
    if isinstance(default, (list, tuple)):
        return ", ".join(str(item) for item in default)
    return str(getattr(default, "value", default))  # enums show their value


def names_of(param) -> str:
    if param.param_type_name == "argument":
        return param.name.upper()
    return " / ".join(f"`{name}`" for name in [*param.opts, *param.secondary_opts])


def command_section(name: str, command) -> list[str]:
    lines = [f"## `alignfreeze {name}`", ""]
    if command.help:
        lines += [command.help.strip(), ""]
    params = [p for p in command.params if not getattr(p, "hidden", False) and p.name != "help"]
    if params:
        lines += ["| parameter | required | default | help |", "|---|---|---|---|"]
        for param in params:
            required = "yes" if param.required else ""
            default = default_of(param)
            lines.append(
                f"| {names_of(param)} | {required} | {cell(f'`{default}`') if default else ''} "
                f"| {cell(getattr(param, 'help', '') or '')} |"
            )
        lines.append("")
    return lines


def main() -> None:
    app = importlib.import_module("alignfreeze.cli.app").app
    group = typer.main.get_command(app)
    ctx = group.make_context("alignfreeze", [], resilient_parsing=True)
    lines = [""]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            lines += command_section(name, command)
    with mkdocs_gen_files.open(PAGE, "a") as page:
        page.write("\n".join(lines))


main()
