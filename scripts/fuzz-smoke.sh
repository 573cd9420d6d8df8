#!/usr/bin/env bash
# Fuzz smoke: builds the cargo-fuzz targets of fuzz/ and runs each one briefly from its
# committed seeds (fuzz/seeds/<target>/). Exits non-zero on a crash (a panic in the
# rewriter, or an output the checker of fuzz/src/lib.rs cannot confirm), and replays the
# minimized inputs of fuzz/regressions/ first when there are any.
#
#   bash scripts/fuzz-smoke.sh                  # 60 s per target, a fresh random seed
#   FUZZ_SMOKE_SECONDS=10 bash scripts/fuzz-smoke.sh
#   FUZZ_SMOKE_RUNS=300000 bash scripts/fuzz-smoke.sh   # what CI runs: a fixed number of
#                                                       # inputs from a fixed seed
#
# CI's run has a fixed budget (FUZZ_SMOKE_RUNS) from a fixed seed (FUZZ_SMOKE_SEED,
# default 1) rather than a time limit: it does not grow or shrink with the machine's
# speed, and it starts from the same mutations every time. It is not fully
# deterministic (coverage feedback from hash-ordered code varies a little between runs),
# so it can still meet something new. Finding new bugs is a campaign's work
# (fuzz/README.md), or a timed run's.
#
# Needs cargo and crates.io (it installs cargo-fuzz when missing). Works on a stable
# toolchain: cargo-fuzz's nightly flags are enabled with RUSTC_BOOTSTRAP=1, and the
# targets are built without a sanitizer (the crate forbids `unsafe`; a panic is what we
# look for, and ASan would cost a factor of ~2 in speed).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${FUZZ_SMOKE_SECONDS:-60}"
RUNS="${FUZZ_SMOKE_RUNS:-}"
if [ -n "$RUNS" ]; then
  BUDGET=(-runs="$RUNS" -seed="${FUZZ_SMOKE_SEED:-1}")
  WHAT="$RUNS inputs from seed ${FUZZ_SMOKE_SEED:-1}"
else
  BUDGET=(-max_total_time="$SECONDS_PER_TARGET")
  WHAT="${SECONDS_PER_TARGET}s"
fi
TARGETS=(prepared unprepared)
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never

start=$SECONDS
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

FUZZ=(cargo fuzz)
OPTS=(--sanitizer none --fuzz-dir fuzz)

echo "== building ${TARGETS[*]} ($((SECONDS - start))s)"
nice -n 10 "${FUZZ[@]}" build "${OPTS[@]}"

status=0
for t in "${TARGETS[@]}"; do
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    echo "== $t: replaying fuzz/regressions/$t ($((SECONDS - start))s)"
    if ! TENANCY_FUZZ_STRICT=1 nice -n 10 "${FUZZ[@]}" run "${OPTS[@]}" "$t" fuzz/regressions/"$t"/* -- -runs=0; then
      echo "!! $t: a regression input fails" >&2
      status=1
    fi
  fi
  # A scratch corpus, so that the smoke never depends on (nor grows) fuzz/corpus.
  corpus="fuzz/target/smoke-corpus/$t"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  echo "== $t: $WHAT from fuzz/seeds/$t ($((SECONDS - start))s)"
  if ! nice -n 10 "${FUZZ[@]}" run "${OPTS[@]}" "$t" "$corpus" "fuzz/seeds/$t" -- \
      "${BUDGET[@]}" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1; then
    echo "!! $t: crash; the input is in fuzz/artifacts/$t/" >&2
    status=1
  fi
done
echo "== fuzz smoke done in $((SECONDS - start))s: $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
