#!/usr/bin/env bash
# `make dev`: the demo upstream (server-everything, streamable HTTP) on 127.0.0.1:$EVERYTHING_PORT
# and the runner under `wrangler dev` on 127.0.0.1:$PORT. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

PORT="${PORT:-8787}"
EVERYTHING_PORT="${EVERYTHING_PORT:-3101}"

# Another process on a port this needs would silently answer in its place: refuse instead.
for needed in "$EVERYTHING_PORT:the demo upstream (EVERYTHING_PORT)" "$PORT:the runner (PORT)"; do
  port="${needed%%:*}"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "make dev: port $port on 127.0.0.1, for ${needed#*:}, is already in use by another process." >&2
    echo "Stop that process (is another \`make dev\` running?), or choose free ports, e.g. PORT=8788 EVERYTHING_PORT=3102 make dev." >&2
    exit 1
  fi
done

PORT="$EVERYTHING_PORT" node --require ./tests/support/bind-loopback.cjs \
  node_modules/@modelcontextprotocol/server-everything/dist/index.js streamableHttp \
  >"${TMPDIR:-/tmp}/mcp-isolate-runner-everything.log" 2>&1 &
everything=$!
trap 'kill "$everything" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$EVERYTHING_PORT") 2>/dev/null && break
  kill -0 "$everything" 2>/dev/null || { echo "server-everything failed to start" >&2; exit 1; }
  sleep 0.1
done

upstreams="[{\"name\": \"everything\", \"url\": \"http://127.0.0.1:$EVERYTHING_PORT/mcp\"}]"
cat <<EOT

  MCP Isolate Runner
  MCP URL:  http://127.0.0.1:$PORT/mcp
  Try it:   make try   (in another terminal; runs execute with everything.get_sum)

EOT
wrangler dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false \
  --var "UPSTREAMS:$upstreams"
