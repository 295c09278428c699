#!/usr/bin/env python3
"""Generic MCP client driver (Python `mcp` SDK 1.x, streamable HTTP).

    python tests/support/py_client.py --url URL [--calls JSON] [--header 'Name: value' ...]
                                      [--timeout SECONDS] [--allow-rpc-errors]

--calls is a JSON array of {"tool": name, "arguments": {...}} (default "[]"); it may
also be "@path/to/file.json" or "-" (read from stdin).

Initializes, lists every tool (following nextCursor), performs each call in order with
ClientSession.call_tool, and prints exactly one JSON object on stdout:

    {"protocolVersion": ..., "serverInfo": {...}, "capabilities": {...},
     "tools": [Tool, ...], "results": [CallToolResult, ...]}

Every object is dumped with model_dump(mode="json", exclude_none=True, by_alias=True).
A tool result with isError: true is a normal result. Any transport or protocol failure
(connection refused, HTTP error, JSON-RPC error, invalid structuredContent, timeout)
prints a message on stderr and exits 1 without printing JSON; with --allow-rpc-errors a
JSON-RPC error answer to a tools/call is recorded in "results" as
{"error": {"code": ..., "message": ..., "data"?: ...}} instead.
Exit 2 means bad command-line input.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

import anyio
import httpx

from mcp import ClientSession
from mcp.shared.exceptions import McpError

try:  # mcp >= 1.2x: the non-deprecated spelling
    from mcp.client.streamable_http import streamable_http_client as _new_client
except ImportError:  # pragma: no cover - older 1.x
    _new_client = None
from mcp.client.streamable_http import streamablehttp_client as _old_client


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)


def _parse_calls(raw: str) -> list[dict[str, Any]]:
    if raw == "-":
        raw = sys.stdin.read()
    elif raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as f:
            raw = f.read()
    calls = json.loads(raw)
    if not isinstance(calls, list):
        raise ValueError("--calls must be a JSON array")
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("tool"), str):
            raise ValueError(f"--calls[{i}] must be an object with a string 'tool'")
        args = call.get("arguments", {})
        if args is not None and not isinstance(args, dict):
            raise ValueError(f"--calls[{i}].arguments must be an object")
    return calls


def _parse_headers(raw: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"bad --header {item!r}, expected 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


async def run(url: str, calls: list[dict[str, Any]], headers: dict[str, str], timeout: float,
              allow_rpc_errors: bool) -> dict[str, Any]:
    request_timeout = timedelta(seconds=max(1.0, timeout - 1))
    out: dict[str, Any] = {}

    async def session_body(read, write) -> None:
        async with ClientSession(read, write, read_timeout_seconds=request_timeout) as session:
            init = await session.initialize()
            out["protocolVersion"] = init.protocolVersion
            out["serverInfo"] = _dump(init.serverInfo)
            out["capabilities"] = _dump(init.capabilities)

            tools: list[dict[str, Any]] = []
            cursor: str | None = None
            while True:
                page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                tools.extend(_dump(t) for t in page.tools)
                cursor = page.nextCursor
                if not cursor:
                    break
            out["tools"] = tools

            results: list[dict[str, Any]] = []
            for call in calls:
                try:
                    result = await session.call_tool(call["tool"], call.get("arguments") or {})
                except McpError as e:
                    if not allow_rpc_errors:
                        raise
                    results.append({"error": _dump(e.error)})
                    continue
                results.append(_dump(result))
            out["results"] = results

    if _new_client is not None:
        http = httpx.AsyncClient(
            headers=headers or None,
            timeout=httpx.Timeout(30.0, read=timeout),
            follow_redirects=True,
        )
        async with http, _new_client(url, http_client=http) as (read, write, _get_session_id):
            await session_body(read, write)
    else:  # pragma: no cover
        async with _old_client(url, headers=headers or None) as (read, write, _get_session_id):
            await session_body(read, write)
    return out


def _describe(exc: BaseException) -> str:
    """Flatten exception groups (anyio task groups) into one readable line."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, McpError):
        err = exc.error
        data = f" data={json.dumps(err.data)}" if err.data is not None else ""
        return f"JSON-RPC error {err.code}: {err.message}{data}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    msg = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {msg}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="MCP endpoint, e.g. http://127.0.0.1:3102/mcp")
    parser.add_argument("--calls", default="[]", help='JSON array of {"tool", "arguments"}, @file, or -')
    parser.add_argument("--header", action="append", default=[], help="extra HTTP header 'Name: value'")
    parser.add_argument("--timeout", type=float, default=60.0, help="overall deadline in seconds (default 60)")
    parser.add_argument("--allow-rpc-errors", action="store_true",
                        help="record JSON-RPC errors from tools/call in results instead of failing")
    args = parser.parse_args(argv)

    try:
        calls = _parse_calls(args.calls)
        headers = _parse_headers(args.header)
    except (ValueError, OSError) as e:
        print(f"py_client: bad input: {e}", file=sys.stderr)
        return 2

    async def guarded() -> dict[str, Any]:
        with anyio.fail_after(args.timeout):
            return await run(args.url, calls, headers, args.timeout, args.allow_rpc_errors)

    try:
        out = anyio.run(guarded)
    except KeyboardInterrupt:
        print("py_client: interrupted", file=sys.stderr)
        return 130
    except BaseException as e:  # noqa: BLE001 - report everything, including exception groups
        if isinstance(e, SystemExit):
            raise
        print(f"py_client: {args.url}: {_describe(e)}", file=sys.stderr)
        return 1

    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
