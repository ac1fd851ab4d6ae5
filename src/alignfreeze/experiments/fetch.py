"""``alignfreeze fetch CONFIG...``: get every data file the configs' runs read that is not
already under the data root (see :mod:`alignfreeze.data.fetch` for the sources and the
layout they are written in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from alignfreeze.data.catalog import DataCatalog
from alignfreeze.data.fetch import FetchResult, FetchTarget, fetch_target, plan_target
from alignfreeze.errors import AlignfreezeError


@dataclass
class FetchPlan:
    """What the configs need: data sets already under ``root`` (``present``: what -> files),
    and the :class:`FetchTarget` of each one that is not."""

    root: Path
    present: dict[str, list[Path]] = field(default_factory=dict)
    targets: list[FetchTarget] = field(default_factory=list)


def plan_fetch(
    configs: list[str | Path], data_dir: str | Path | None = None, overrides: list[str] | None = None
) -> FetchPlan:
    """The :class:`FetchPlan` of experiment or grid files (``overrides`` as ``--set``):
    nothing is downloaded.

    Example::

        plan = af.plan_fetch(["configs/paper/pos.yaml"])
        [(t.what, t.files, t.source.describe()) for t in plan.targets if t.source]
    """
    from alignfreeze.experiments.grid import load_grid
    from alignfreeze.experiments.planning import data_needs

    catalog = DataCatalog(data_dir)
    runs = [run for path in configs for run in load_grid(path, overrides)[1]]
    plan = FetchPlan(catalog.root)
    for need in data_needs(runs, catalog):
        if need.files:
            plan.present[need.what] = list(need.files)
        else:
            plan.targets.append(plan_target(need.kind, need.language, need.split, need.dataset))
    return plan


def fetch(
    configs: list[str | Path],
    data_dir: str | Path | None = None,
    overrides: list[str] | None = None,
    hub_mirror: str | Path | None = None,
    url_mirror: str | None = None,
    on_target: Callable[[FetchTarget, int, int], None] | None = None,
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> list[FetchResult]:
    """Fetch every data file the runs of ``configs`` read and the data root lacks.

    Args:
        configs: experiment or grid YAML files.
        data_dir: the data root written to (default: ``$ALIGNFREEZE_DATA``, else ``../shared/data``).
        overrides: ``--set``-style ``key.path=value`` assignments applied to every file.
        hub_mirror: a local mirror of the hub's dataset repositories (default: ``$ALIGNFREEZE_HUB_MIRROR``).
        url_mirror: where URLs are served from instead (default: ``$ALIGNFREEZE_URL_MIRROR``).
        on_target: called with ``(target, index, count)`` before each target.
        on_bytes: called with ``(bytes so far, expected)`` during a URL download.

    Returns:
        one :class:`FetchResult` per data set that was missing: ``fetched`` with its files,
        or ``failed`` with the source and the reason. A failure does not stop the others.

    Example::

        results = af.fetch(["configs/paper/pos.yaml"], data_dir="data")
        [r.detail for r in results if r.status == "failed"]
    """
    plan = plan_fetch(configs, data_dir, overrides)
    results = []
    for index, target in enumerate(plan.targets):
        if on_target:
            on_target(target, index, len(plan.targets))
        try:
            files = fetch_target(target, plan.root, hub_mirror, url_mirror, on_bytes)
            results.append(FetchResult(target, "fetched", files=files))
        except AlignfreezeError as exc:
            source = target.source.describe() if target.source else "no source"
            results.append(FetchResult(target, "failed", f"{target.what} from {source}: {exc}"))
    return results
