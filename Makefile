# mcp-isolate-runner. Every tool comes from `make setup` (scripts/setup.sh) and lives in a
# per-user cache outside the checkout; recipes get it on PATH with `$(ENV) <command>`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Cache root shared by every checkout (override: make MIR_CACHE=/path setup).
MIR_CACHE ?= $(HOME)/.cache/mcp-isolate-runner
export MIR_CACHE

# Prefix for recipes that need the tools: Node 22, wrangler, wasm-bindgen, worker-build,
# WASM_OPT_BIN/ESBUILD_BIN/WASM_BINDGEN_BIN, $$MIR_VENV (see scripts/env.sh).
ENV := source scripts/env.sh &&

.PHONY: setup
setup: ## Install toolchain, npm packages and the Python venv (idempotent; seconds when cached)
	@scripts/setup.sh

# The Worker bundle, rebuilt only when an input or the flags change, so wrangler's [build]
# step (`make build`) is instant when nothing changed. `WORKER_BUILD_FLAGS="--release --no-opt"`
# skips wasm-opt (about 1.5 minutes) in a quick edit loop; what ships is built with it.
WORKER_BUILD_FLAGS ?= --release
BUILD_INPUTS := Cargo.toml Cargo.lock .cargo/config.toml $(shell find src worker-template -type f)
BUILD_FLAGS_STAMP := target/worker-build.flags

.PHONY: build
build: build/index.js ## Build the Worker (Rust to wasm, plus worker-build's JS) into build/

build/index.js: $(BUILD_INPUTS) $(BUILD_FLAGS_STAMP)
	$(ENV) worker-build $(WORKER_BUILD_FLAGS)
	touch $@

$(BUILD_FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(WORKER_BUILD_FLAGS)' | cmp -s - $@ || echo '$(WORKER_BUILD_FLAGS)' > $@

.PHONY: FORCE
FORCE:

.PHONY: dev
dev: setup build ## Run the runner on 127.0.0.1:8787 with the demo upstream (server-everything)
	scripts/dev.sh

MCP_URL ?= http://127.0.0.1:8787/mcp

.PHONY: try
try: ## Call a running `make dev` with the MCP TypeScript SDK: list tools, run one execute
	@$(ENV) node scripts/try.mjs $(MCP_URL)

.PHONY: test
test: setup lint test-rust test-wasm test-types build test-e2e test-browser test-docs test-security conformance ## Everything below, in order

.PHONY: lint
lint: ## rustfmt and clippy (host and wasm32), warnings are errors
	$(ENV) cargo fmt --check
	$(ENV) cargo clippy --all-targets -- -D warnings
	$(ENV) cargo clippy --target wasm32-unknown-unknown -- -D warnings

.PHONY: test-rust
test-rust: ## The pure-Rust core on the host
	$(ENV) cargo test

.PHONY: test-wasm
test-wasm: ## The pure-Rust core on wasm32 under Node (wasm-bindgen-test)
	$(ENV) cargo test --lib --target wasm32-unknown-unknown

.PHONY: test-types
test-types: build ## tsc --strict: the fixtures' generated declarations, and the harness and entry module against the Rust contract
	$(ENV) tsc -p tests/typescript
	$(ENV) tsc -p worker-template

.PHONY: capture
capture: setup ## Re-capture the test upstreams' tool lists into tests/fixtures/
	$(ENV) node scripts/capture-fixtures.mjs

.PHONY: test-e2e
test-e2e: build ## Real clients against a real wrangler dev with real upstreams
	$(ENV) node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs

.PHONY: test-browser
test-browser: build ## The pages the runner serves, in a real headless chromium (playwright-core)
	$(ENV) node --test --test-concurrency=1 --test-reporter=spec tests/browser/*.test.mjs

.PHONY: test-docs
test-docs: build ## The docs hold true: README examples and quick start, deploy bundle, docs/benchmarks.md, SECURITY.md's names
	$(ENV) node --test --test-concurrency=1 --test-reporter=spec tests/docs/*.test.mjs

.PHONY: test-security
test-security: build ## The escape corpus and the request fuzzer against wrangler dev
	$(ENV) node --test --test-concurrency=1 --test-reporter=spec tests/security/*.test.mjs

.PHONY: conformance
conformance: setup build ## The official MCP conformance suite against wrangler dev; writes docs/conformance.md
	$(ENV) node scripts/conformance.mjs

.PHONY: bench
bench: setup build ## Benchmarks (not part of make test): benches/results/*.json, then docs/benchmarks.md
	$(ENV) node benches/tasks.mjs
	$(ENV) cargo bench --bench tokens
	$(ENV) node benches/latency.mjs
	$(ENV) node benches/load.mjs
	$(ENV) node benches/profile.mjs
	$(ENV) node benches/cpu.mjs
	$(ENV) node benches/report.mjs

.PHONY: clean
clean: ## Remove build outputs (the tool cache stays)
	rm -rf build target .wrangler

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'
