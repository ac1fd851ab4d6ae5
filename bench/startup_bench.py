"""Start-up time of the command line against importing torch (issue 19, deliverable 6).

Three commands, each a fresh process, run in turn five times (so that a noisy machine
slows all three alike), and the median of each:

* ``python -c "import torch"``, the reference;
* ``alignfreeze --help``;
* ``alignfreeze prepare-model`` with the model already prepared (run once first, so that
  it is cached).

It prints each median and the two ratios to torch, which must be at most 0.5, and saves
them to ``bench/results/startup.json``. Run from the repository root::

    python bench/startup_bench.py            # --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import save  # noqa: E402

#: The most the command line may take, as a share of importing torch.
LIMIT = 0.5

COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "alignfreeze --help": [sys.executable, "-m", "alignfreeze.cli", "--help"],
    "alignfreeze prepare-model (cached)": [sys.executable, "-m", "alignfreeze.cli", "prepare-model"],
}


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache; prepare the model if it is not
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(seconds(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    torch_seconds = medians["import torch"]
    ratios = {name: medians[name] / torch_seconds for name in COMMANDS if name != "import torch"}
    print(f"median of {args.repeats} runs each, commands interleaved")
    for name, value in medians.items():
        ratio = f"  {ratios[name]:.2f}x import torch" if name in ratios else ""
        print(f"  {name:<36} {value:6.3f} s{ratio}")
    within = all(r <= LIMIT for r in ratios.values())
    print(f"each at most {LIMIT}x import torch: {'yes' if within else 'NO'}")
    path = save("startup", {"repeats": args.repeats, "seconds": times, "median_s": medians, "ratio_to_torch": ratios})
    print(f"saved to {path}")
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
