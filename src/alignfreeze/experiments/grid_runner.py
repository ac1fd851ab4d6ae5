"""Running a grid: many runs, locally or on a Ray cluster, never lost, never duplicated.

* **State lives in the output folder.** A run is *done* when ``runs/<id>/metrics.json``
  exists, *failed* when ``runs/<id>/failed.json`` exists (with ``error.txt``, the traceback),
  and *to do* otherwise. A restarted grid skips done runs and, unless ``retry_failed``,
  failed ones.
* **One writer.** Workers write only inside their own ``runs/<id>/`` (atomically); the
  driver appends each finished run's rows to ``results.csv`` and reconciles the file at
  every start (see :mod:`alignfreeze.experiments.results`), so a crash of a worker or of the
  driver leaves every row present exactly once after the restart.
* **Executors.** ``local`` runs in this process (``max_parallel=1``; ``alignfreeze run``
  is this path: :func:`~alignfreeze.experiments.runner.run_experiment`) or in a pool of
  processes. ``ray`` submits one Ray task per run with the grid's ``resources``
  (``num_cpus``, ``num_gpus``); a task whose worker dies is retried by Ray
  (``max_retries``), and recorded as failed when the retries run out.
* **Threads.** A CPU run in parallel with others uses ``num_cpus`` torch threads (1 by
  default), so that N runs on N cores do not oversubscribe them.
* **GPUs.** Several runs share a GPU: at these batch sizes one run leaves most of it idle.
  On Ray, ``resources: {num_gpus: 0.25}`` packs four runs per GPU. Locally, the pool's
  processes are spread over the visible GPUs (``CUDA_VISIBLE_DEVICES`` set per process,
  round-robin), and without ``--max-parallel`` as many run at once as
  ``resources.num_gpus`` lets share the GPUs (4 per GPU at 0.25).
* **Progress.** A worker writes its run's current phase and step to ``runs/<id>/progress.json``
  (at most once a second); the driver polls those files and passes them to ``on_status``,
  which the CLI draws as one bar per running run under the grid's bar.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alignfreeze.errors import AlignfreezeError
from alignfreeze.experiments.config import RunConfig
from alignfreeze.experiments.planning import FAILED_FILE, RunData, grid_state, preflight
from alignfreeze.experiments.results import append_rows
from alignfreeze.fileio import atomic_write_text
from alignfreeze.progress import file_reporter, reporting_to

PROGRESS_FILE = "progress.json"
POLL_SECONDS = 1.0


class Resources(BaseModel):
    """What each run of a grid asks for: CPUs (also its torch threads when runs share a
    machine) and a share of a GPU (``num_gpus: 0.25`` packs four runs on one). Not part of
    any run's identity."""

    model_config = ConfigDict(extra="forbid")
    num_cpus: float = Field(1.0, gt=0)
    num_gpus: float = Field(0.0, ge=0)

    @classmethod
    def parse(cls, data: dict | None) -> "Resources":
        """A grid file's ``resources:`` mapping (None: the defaults); a bad one is an
        :class:`AlignfreezeError` naming the key."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"] for e in exc.errors()
            )
            allowed = ", ".join(cls.model_fields)
            raise AlignfreezeError(f"resources: {problems} (allowed: {allowed})") from None

    @property
    def torch_threads(self) -> int:
        return max(1, int(self.num_cpus))


def check_max_parallel(max_parallel: int | None, executor: str) -> None:
    """Raise an :class:`AlignfreezeError` unless ``max_parallel`` (``--max-parallel``) is a
    number of runs at a time: at least 1, or 0 on Ray (as many as the cluster fits); None
    chooses for itself (:func:`local_parallelism`)."""
    if max_parallel is None:
        return
    lowest = 0 if executor == "ray" else 1
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < lowest:
        allowed = "0 (as many as the cluster fits) or more" if executor == "ray" else "1 or more"
        raise AlignfreezeError(
            f"--max-parallel {max_parallel}: runs at a time must be {allowed} with the {executor} executor"
        )


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def attempt_run(run: RunConfig, out_dir: Path, data: RunData, progress: bool) -> tuple[dict, Exception | None]:
    """Execute one run and report the outcome as plain data, with the exception that failed
    it (None when it is done). A failure writes the traceback to ``runs/<id>/error.txt``;
    nothing else is written outside the run's folder."""
    from alignfreeze.experiments.runner import execute_run

    t0 = time.perf_counter()
    try:
        outcome = execute_run(run, out_dir, data.catalog, progress=progress, data=data)
        return {"run_id": run.run_id, "status": "done", "rows": outcome.rows, "seconds": outcome.seconds}, None
    except Exception as exc:  # noqa: BLE001 -- any failure of one run is recorded and the grid goes on
        run_dir = out_dir / "runs" / run.run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "error.txt", traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}"
        return {"run_id": run.run_id, "status": "failed", "error": error, "seconds": time.perf_counter() - t0}, exc


def run_one(
    run_data: dict,
    out_dir: str,
    data_dir: str | None,
    threads: int | None,
    progress: bool,
    report_progress: bool = False,
) -> dict:
    """The worker side of the process pool and of Ray: :func:`attempt_run` on a run sent as
    plain data, its outcome returned as plain data. ``report_progress`` writes the run's
    phase and step to ``runs/<id>/progress.json``."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    from alignfreeze.data.catalog import DataCatalog

    run = RunConfig(**run_data)
    progress_file = Path(out_dir) / "runs" / run.run_id / PROGRESS_FILE
    # (Without report_progress the caller's reporter, if any, stays in charge.)
    reporting = reporting_to(file_reporter(progress_file)) if report_progress else contextlib.nullcontext()
    with reporting:
        result, _ = attempt_run(run, Path(out_dir), RunData(DataCatalog(data_dir)), progress)
    return result


def _record(out_dir: Path, result: dict) -> None:
    """Driver side: append a finished run's rows, or record its failure."""
    run_dir = out_dir / "runs" / result["run_id"]
    if result["status"] == "done":
        (run_dir / FAILED_FILE).unlink(missing_ok=True)
        append_rows(out_dir / "results.csv", result["rows"])
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        info = {
            "error": result["error"],
            "traceback": "error.txt" if (run_dir / "error.txt").exists() else None,
            "seconds": round(result.get("seconds", 0.0), 1),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        atomic_write_text(run_dir / FAILED_FILE, json.dumps(info, indent=2) + "\n")


def gpu_slots(n_processes: int, n_gpus: int) -> list[str | None]:
    """The GPU each of ``n_processes`` pool processes uses: round-robin over ``n_gpus``
    (None each when there is none)."""
    return [str(i % n_gpus) if n_gpus else None for i in range(n_processes)]


def _pin_to_gpu(slots) -> None:
    """Pool initializer: this process takes the next GPU slot (before torch sees CUDA)."""
    slot = slots.get()
    if slot is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slot


def local_parallelism(resources: Resources, n_gpus: int) -> int:
    """Runs at a time for the local executor when none is asked: as many as share the GPUs
    (``resources.num_gpus`` each), else 1."""
    if n_gpus and resources.num_gpus > 0:
        return max(1, int(n_gpus / resources.num_gpus + 1e-9))
    return 1


def _serial(
    runs: list[RunConfig],
    out_dir: Path,
    data: RunData,
    progress: bool,
    on_status: Callable[[str, dict | None], None] | None,
) -> Iterator[dict]:
    """Outcomes as runs finish, one after the other in this process, on the records
    :func:`preflight` parsed; a failed run's outcome carries its exception (``exception``)."""
    for k, run in enumerate(runs):
        # The run's bars report straight to on_status (without one, the caller's reporter stays).
        reporting = (
            reporting_to(lambda status, run_id=run.run_id: on_status(run_id, status))
            if on_status
            else contextlib.nullcontext()
        )
        with reporting:
            result, exc = attempt_run(run, out_dir, data, progress)
        data.keep_only(runs[k + 1 :])  # hold the data of the runs to come, not of every run so far
        yield result if exc is None else {**result, "exception": exc}  # outside the block: the driver is not this run


def _local(
    runs: list[RunConfig],
    out_dir: Path,
    data_dir,
    resources: Resources,
    max_parallel: int,
) -> Iterator[dict | None]:
    """Outcomes as runs finish in a pool of processes; ``None`` every ``POLL_SECONDS`` while waiting."""
    data = str(data_dir) if data_dir else None
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for slot in gpu_slots(max_parallel, _visible_gpus()):
        slots.put(slot)
    pool = ProcessPoolExecutor(max_parallel, mp_context=context, initializer=_pin_to_gpu, initargs=(slots,))
    try:
        futures = {
            pool.submit(
                run_one, run.model_dump(mode="json"), str(out_dir), data, resources.torch_threads, False, True
            ): run
            for run in runs
        }
        while futures:
            finished, _ = wait(futures, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            if not finished:
                yield None
            for future in finished:
                run = futures.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 -- a worker process died
                    yield {"run_id": run.run_id, "status": "failed", "error": f"worker died: {exc}"}
    except BaseException:
        # Ctrl-C (or the driver closing this generator): the runs not started yet are dropped,
        # not started one after another while the user waits; the running ones end as they may.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _ray(
    runs: list[RunConfig],
    out_dir: Path,
    data_dir,
    resources: Resources,
    max_parallel: int,
    address: str | None,
    max_retries: int,
) -> Iterator[dict | None]:
    """Outcomes as runs finish; ``None`` every ``POLL_SECONDS`` while waiting."""
    try:
        import ray
    except ImportError:
        raise AlignfreezeError(
            "the ray executor needs Ray: pip install 'alignfreeze[ray]' (or pip install 'ray[default]')"
        ) from None
    if not ray.is_initialized():
        # Workers import alignfreeze from the driver's Python environment; the offline and
        # cache settings travel with them.
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={
                "env_vars": {
                    k: v for k, v in os.environ.items() if k.startswith(("HF_", "TRANSFORMERS_", "ALIGNFREEZE_"))
                }
            },
        )
    remote = ray.remote(num_cpus=resources.num_cpus, num_gpus=resources.num_gpus, max_retries=max_retries)(run_one)
    threads = None if resources.num_gpus else resources.torch_threads
    pending: dict = {}
    queue = list(runs)
    limit = max_parallel if max_parallel > 0 else len(runs)
    while queue or pending:
        while queue and len(pending) < limit:
            run = queue.pop(0)
            ref = remote.remote(
                run.model_dump(mode="json"),
                str(out_dir.resolve()),
                str(Path(data_dir).resolve()) if data_dir else None,
                threads,
                False,
                True,
            )
            pending[ref] = run
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
        if not ready:
            yield None
        for ref in ready:
            run = pending.pop(ref)
            try:
                yield ray.get(ref)
            except Exception as exc:  # noqa: BLE001 -- the task failed after Ray's retries (worker killed...)
                yield {
                    "run_id": run.run_id,
                    "status": "failed",
                    "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
                }


@dataclass
class GridSummary:
    total: int
    skipped: int
    done: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    #: The exceptions of the runs that failed in this process (the serial local executor).
    exceptions: dict[str, Exception] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        """Runs that need nothing more from this invocation: skipped, done or failed now."""
        return self.skipped + self.done + self.failed

    @property
    def remaining(self) -> int:
        return self.total - self.finished


def run_grid(
    runs: list[RunConfig],
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    executor: str = "local",
    max_parallel: int | None = None,
    address: str | None = None,
    resources: Resources | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    max_retries: int = 3,
    on_result: Callable[[dict, GridSummary], None] | None = None,
    on_status: Callable[[str, dict | None], None] | None = None,
    on_skipped: Callable[[RunConfig, list[dict] | None], None] | None = None,
) -> GridSummary:
    """Run every run of a grid that is not done yet, locally or on Ray, resumably (see the
    module docstring): state lives in ``out_dir``, a crash loses no finished run, and a rerun
    skips what is done (and what failed, unless ``retry_failed``).

    Args:
        runs: the runs (:func:`load_grid`).
        out_dir: the results folder.
        executor: ``local`` or ``ray``; ``address`` joins a Ray cluster.
        max_parallel: runs at a time; by default 1 with the local executor and, on Ray, as
            many as the cluster's resources fit (``0`` says the same explicitly).
        resources: ``num_cpus`` / ``num_gpus`` per run (``num_gpus: 0.25`` packs 4 per GPU).
        on_result: ``on_result(result, summary)`` as each run finishes.
        on_status: ``on_status(run_id, status)`` as a running run moves on (``status``:
            ``{"desc", "done", "total", "postfix"}``; ``None`` once the run has finished).
        on_skipped: ``on_skipped(run, rows)`` for each run not run again, before any run
            starts: ``rows`` its results when it is done, None when it failed before.

    Returns:
        :class:`GridSummary`: runs done, skipped and failed (with their errors).

    Example::

        name, runs, resources = af.load_grid("configs/grid-demo.yaml")
        summary = af.run_grid(runs, "runs/grid-demo", max_parallel=2)
    """
    from alignfreeze.data.catalog import DataCatalog

    if executor not in ("local", "ray"):
        raise AlignfreezeError(f"unknown executor {executor!r} (allowed: local, ray)")
    check_max_parallel(max_parallel, executor)
    resources = resources or Resources()
    if max_parallel is None:
        # On Ray the tasks' num_cpus/num_gpus already bound what runs at once.
        max_parallel = 0 if executor == "ray" else local_parallelism(resources, _visible_gpus())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = preflight(runs, DataCatalog(data_dir))
    state = grid_state(out_dir)
    todo = [r for r in runs if r.run_id not in state.done and (retry_failed or r.run_id not in state.failed)]
    summary = GridSummary(total=len(runs), skipped=len(runs) - len(todo))
    summary.failures = {rid: info.get("error", "") for rid, info in state.failed.items() if not retry_failed}
    if on_skipped:
        todo_ids = {run.run_id for run in todo}
        for run in runs:
            if run.run_id not in todo_ids:
                on_skipped(run, state.done.get(run.run_id))
    if not todo:
        return summary
    for run in todo:  # a progress file left by an earlier invocation must not show as running
        (out_dir / "runs" / run.run_id / PROGRESS_FILE).unlink(missing_ok=True)
    serial = executor == "local" and max_parallel <= 1
    data.keep_only(todo if serial else [])  # the records preflight parsed serve this process's runs only
    if executor == "ray":
        results = _ray(todo, out_dir, data_dir, resources, max_parallel, address, max_retries)
    elif serial:
        results = _serial(todo, out_dir, data, progress, on_status)
    else:
        results = _local(todo, out_dir, data_dir, resources, max_parallel)
    running = {run.run_id for run in todo}
    seen: dict[str, float] = {}
    for result in results:
        if result is None:
            if on_status:
                _poll_progress(out_dir, running, seen, on_status)
            continue
        running.discard(result["run_id"])
        if "exception" in result:
            summary.exceptions[result["run_id"]] = result.pop("exception")
        if on_status:
            on_status(result["run_id"], None)
        _record(out_dir, result)
        if result["status"] == "done":
            summary.done += 1
            summary.failures.pop(result["run_id"], None)
        else:
            summary.failed += 1
            summary.failures[result["run_id"]] = result["error"]
        if on_result:
            on_result(result, summary)
    return summary


def _poll_progress(
    out_dir: Path, run_ids: set[str], seen: dict[str, float], on_status: Callable[[str, dict | None], None]
) -> None:
    """Pass on the progress files of unfinished runs written since the last poll."""
    for run_id in sorted(run_ids):
        path = out_dir / "runs" / run_id / PROGRESS_FILE
        try:
            mtime = path.stat().st_mtime
            if mtime == seen.get(run_id):
                continue
            status = json.loads(path.read_text())
        except (OSError, ValueError):  # not started, finished and cleaned, or being replaced
            continue
        seen[run_id] = mtime
        on_status(run_id, status)
