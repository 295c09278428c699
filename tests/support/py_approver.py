#!/usr/bin/env python3
"""Runs one `execute` with the Python `mcp` SDK 2.x client, which speaks the 2026-07-28
stateless protocol and answers `input_required` (SEP-2322) through its elicitation callback.

    python tests/support/py_approver.py --url URL --code CODE --answer accept|decline

Every question is answered the same way: `accept` approves the call once, `decline` declines
it. Prints one JSON object: {"protocolVersion": ..., "result": CallToolResult, "asked": [the
question messages, in order]}.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio

from mcp import Client, types


async def run(url: str, code: str, answer: str) -> dict[str, Any]:
    asked: list[str] = []

    async def elicit(_context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return types.ElicitResult(action="accept", content={"decision": "once"})
        return types.ElicitResult(action="decline")

    async with Client(url, elicitation_callback=elicit) as client:
        result = await client.call_tool("execute", {"code": code})
        version = client.session.protocol_version if hasattr(client.session, "protocol_version") else None
        return {
            "protocolVersion": version,
            "result": result.model_dump(mode="json", exclude_none=True, by_alias=True),
            "asked": asked,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--answer", choices=["accept", "decline"], required=True)
    args = parser.parse_args()
    print(json.dumps(anyio.run(run, args.url, args.code, args.answer)))


if __name__ == "__main__":
    main()
