#!/usr/bin/env bash
# Drop-in proof: SeaORM's own integration suite, run through TenantConnection.
#
#   bash scripts/seaorm-suite.sh            # fetch, patch, build, run, compare, audit
#   SEAORM_SUITE_KEEP_TARGET=1 bash …       # keep the build cache of the previous run
#
# 1. Fetches the published sea-orm crate with cargo (a throwaway project and
#    `cargo fetch`; the .crate is checked against the lockfile's checksum and unpacked);
#    nothing is vendored or committed.
# 2. Makes two copies under target/seaorm-suite/: control/ (unpatched) and patched/
#    (its tests rewritten by scripts/seaorm-suite/patch.py to use a TenantConnection
#    where they used a DatabaseConnection).
# 3. Builds both (one shared target dir: the dependencies are built once) and runs every
#    test binary on SQLite (DATABASE_URL=sqlite::memory:).
# 4. Compares (scripts/seaorm-suite/report.py): a test that passes in control must pass
#    in patched; a patched target that does not compile is a regression. It also audits
#    the statement log: every statement sqlx ran for a converted test must be one the
#    wrapper forwarded. Exits non-zero on any regression or bypass.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE="$ROOT/scripts/seaorm-suite"
WORK="$ROOT/target/seaorm-suite"
VERSION=2.0.4
# tests-features without with-arrow (its tests use no database; arrow is a long build),
# plus tests-cfg (the entities some tests import), SQLite and tokio.
FEATURES="default,postgres-array,rbac,schema-sync,with-bigdecimal,with-ipnetwork,tests-cfg,sqlx-sqlite,runtime-tokio"
TEST_TIMEOUT=${SEAORM_SUITE_TEST_TIMEOUT:-600}

export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=0
export CARGO_PROFILE_TEST_DEBUG=0
export CARGO_TARGET_DIR="$WORK/target"
# The fetch project and the two copies must not inherit the repository's workspace.
unset CARGO_MANIFEST_DIR RUSTFLAGS || true

start=$SECONDS
phase() { printf '\n--- %s (%ss)\n' "$1" "$((SECONDS - start))"; }

phase "work dir $WORK"
if [[ -d "$WORK" ]]; then
  if [[ "${SEAORM_SUITE_KEEP_TARGET:-0}" == 1 ]]; then
    find "$WORK" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
  else
    rm -rf "$WORK"
  fi
fi
mkdir -p "$WORK/fetch/src" "$WORK/results"

phase "fetch sea-orm $VERSION with cargo"
cat >"$WORK/fetch/Cargo.toml" <<EOF
[package]
name = "seaorm-suite-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
sea-orm = { version = "=$VERSION", default-features = false }

[workspace]
EOF
: >"$WORK/fetch/src/lib.rs"
(cd "$WORK/fetch" && cargo fetch --quiet)
manifest=$(cd "$WORK/fetch" && cargo metadata --format-version 1 --quiet |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="sea-orm"))')
# …/registry/src/<index>/sea-orm-X/Cargo.toml  ->  …/registry/cache/<index>/sea-orm-X.crate
index_dir=$(basename "$(dirname "$(dirname "$manifest")")")
registry=$(dirname "$(dirname "$(dirname "$(dirname "$manifest")")")")
crate_file="$registry/cache/$index_dir/sea-orm-$VERSION.crate"
want=$(python3 - "$WORK/fetch/Cargo.lock" "$VERSION" <<'EOF'
import re, sys
for block in open(sys.argv[1]).read().split("[[package]]"):
    if re.search(r'^name = "sea-orm"$', block, re.M) and re.search(rf'^version = "{re.escape(sys.argv[2])}"$', block, re.M):
        print(re.search(r'^checksum = "([0-9a-f]+)"$', block, re.M).group(1))
EOF
)
got=$(sha256sum "$crate_file" | cut -d' ' -f1)
if [[ "$want" != "$got" ]]; then
  echo "checksum mismatch for $crate_file: lockfile $want, file $got" >&2
  exit 1
fi
echo "$crate_file (sha256 $got)"
mkdir -p "$WORK/unpacked"
tar -xzf "$crate_file" -C "$WORK/unpacked"
# -a keeps the archive's timestamps: with SEAORM_SUITE_KEEP_TARGET=1, what did not
# change since the last run (control entirely) is not rebuilt.
cp -a "$WORK/unpacked/sea-orm-$VERSION" "$WORK/control"
cp -a "$WORK/unpacked/sea-orm-$VERSION" "$WORK/patched"

phase "patch"
python3 "$HERE/patch.py" control "$WORK/control"
python3 "$HERE/patch.py" patched "$WORK/patched" "$ROOT" "$WORK/results/plan.json"
# What patch.py wrote gets patch.py's timestamp, not "now": with SEAORM_SUITE_KEEP_TARGET=1
# it is rebuilt only when patch.py (or our crate) changed since the previous run.
find "$WORK/patched" -type f -newer "$HERE/patch.py" -exec touch -r "$HERE/patch.py" {} +
# Both copies resolve from the lockfile sea-orm ships; patched adds our crate's dependencies.
(cd "$WORK/patched" && diff -ru --exclude=common_raw --exclude=tenancy-shim ../control/tests tests >"$WORK/results/tests.diff" || true)
echo "tests rewritten: $(grep -c '^+++ ' "$WORK/results/tests.diff") files (diff in results/tests.diff)"

build() { # side
  local side=$1
  phase "build $side"
  # --keep-going: a target that does not compile is recorded, the others still run.
  (cd "$WORK/$side" &&
    cargo build --test '*' --features "$FEATURES" --keep-going --message-format=json-render-diagnostics \
      >"$WORK/results/$side.build.json" 2>"$WORK/results/$side.build.log") || true
  tail -n 3 "$WORK/results/$side.build.log"
}

run() { # side
  local side=$1
  phase "run $side"
  mkdir -p "$WORK/results/$side"
  python3 "$HERE/report.py" executables "$WORK/results/$side.build.json" >"$WORK/results/$side.executables"
  while read -r name exe; do
    # Captured output (--show-output prints it): threads a test spawns inherit its capture,
    # so the sqlite worker's statement log lands in the right test's section.
    (cd "$WORK/$side" &&
      DATABASE_URL=sqlite::memory: NO_COLOR=1 CARGO_MANIFEST_DIR="$WORK/$side" \
        timeout "$TEST_TIMEOUT" "$exe" --show-output --color never \
        >"$WORK/results/$side/$name.out" 2>&1
      echo $? >"$WORK/results/$side/$name.rc") || true
  done <"$WORK/results/$side.executables"
  echo "$(wc -l <"$WORK/results/$side.executables") test binaries ran"
}

build control
build patched
run control
run patched

phase "compare"
python3 "$HERE/report.py" compare "$WORK" "$((SECONDS - start))"
