# mcp-isolate-runner. Every tool comes from `make setup` (scripts/setup.sh) and lives in a
# per-user cache outside the checkout; recipes get it on PATH with `$(ENV) <command>`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := setup

# Cache root shared by every checkout (override: make MIR_CACHE=/path setup).
MIR_CACHE ?= $(HOME)/.cache/mcp-isolate-runner
export MIR_CACHE

# Prefix for recipes that need the tools: Node 22, wrangler, wasm-bindgen, worker-build,
# WASM_OPT_BIN/ESBUILD_BIN/WASM_BINDGEN_BIN, $$MIR_VENV (see scripts/env.sh).
ENV := source scripts/env.sh &&

.PHONY: setup
setup: ## Install toolchain, npm packages and the Python venv (idempotent; seconds when cached)
	@scripts/setup.sh

# The Worker bundle. Rebuilt only when its inputs change, so wrangler's [build] step
# (`make build`) is instant when nothing changed.
BUILD_INPUTS := Cargo.toml Cargo.lock $(shell find src worker-template -type f)
WORKER_BUILD_FLAGS ?= --release

.PHONY: build
build: build/index.js ## Build the Worker (Rust → wasm + JS shim) into build/

build/index.js: $(BUILD_INPUTS)
	$(ENV) worker-build $(WORKER_BUILD_FLAGS)
	touch $@
