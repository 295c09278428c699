#!/usr/bin/env python3
"""The client matrix plan (tests/e2e/matrix.test.mjs), run by the Python `mcp` SDK.

    python tests/e2e/py_matrix.py --url URL --plan JSON

Works with mcp 1.x (`ClientSession` over `streamablehttp_client`, the session protocol) and
mcp 2.x (`mcp.Client` in its default mode, which probes the 2026-07-28 stateless protocol
first). Prints one JSON object on stdout:

    {"protocolVersion", "tools": [names], "execute": CallToolResult,
     "progress": {"result", "notifications": [{progress, message}], "logs": [params]},
     "cancel": {"outcome": "cancelled", "ms", "abandoned"?: params}, "followUp": CallToolResult}

With a session, the runner's `execution_abandoned` log event for the cancelled execute comes
on the session's GET stream (the cancelled request gets no answer), and is waited for.

How each version cancels is the SDK's own: 2.x on a 2026-07-28 connection abandons the POST
(the protocol's cancellation); 1.x has no API for it, so this driver sends the
`notifications/cancelled` a 1.x application would, for the call's request id.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import anyio

import mcp
from mcp import types


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)


class Observed:
    """Progress notifications and log messages, as the client received them."""

    def __init__(self) -> None:
        self.progress: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append({"progress": progress, "message": message})

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(dump(params))

    async def event(self, name: str, within_s: float = 5.0) -> dict[str, Any] | None:
        """The first runner log event called `name`, waiting for it a while; None if none came."""
        with anyio.move_on_after(within_s):
            while True:
                for log in self.logs:
                    if log.get("data", {}).get("event") == name:
                        return log
                await anyio.sleep(0.05)
        return None


def report(
    version: str,
    tools: list[str],
    executed: Any,
    progressed: Any,
    observed: Observed,
    cancel: dict[str, Any],
    follow_up: Any,
) -> dict[str, Any]:
    """What the plan saw, in the shape the matrix test checks."""
    return {
        "protocolVersion": version,
        "tools": tools,
        "execute": dump(executed),
        "progress": {"result": dump(progressed), "notifications": observed.progress, "logs": observed.logs},
        "cancel": cancel,
        "followUp": dump(follow_up),
    }


async def run_v2(url: str, plan: dict[str, Any]) -> dict[str, Any]:
    observed = Observed()
    async with mcp.Client(url, logging_callback=observed.on_log, log_level="info") as client:
        execute = lambda code, **kw: client.call_tool("execute", {"code": code}, **kw)  # noqa: E731
        tools = [tool.name for tool in (await client.list_tools()).tools]
        executed = await execute(plan["execute"])
        progressed = await execute(plan["progress"], progress_callback=observed.on_progress)
        started = time.monotonic()
        with anyio.move_on_after(plan["cancelAfterMs"] / 1000) as scope:
            await execute(plan["cancel"])
        cancel = {"outcome": "cancelled" if scope.cancelled_caught else "completed"}
        cancel["ms"] = round((time.monotonic() - started) * 1000)
        follow_up = await execute(plan["followUp"])
        return report(client.protocol_version, tools, executed, progressed, observed, cancel, follow_up)


async def run_v1(url: str, plan: dict[str, Any]) -> dict[str, Any]:
    from mcp.client.streamable_http import streamablehttp_client

    observed = Observed()
    async with streamablehttp_client(url) as (read, write, _), mcp.ClientSession(
        read, write, logging_callback=observed.on_log
    ) as session:
        initialized = await session.initialize()
        await session.set_logging_level("info")
        execute = lambda code, **kw: session.call_tool("execute", {"code": code}, **kw)  # noqa: E731
        tools = [tool.name for tool in (await session.list_tools()).tools]
        executed = await execute(plan["execute"])
        progressed = await execute(plan["progress"], progress_callback=observed.on_progress)
        started = time.monotonic()
        cancel: dict[str, Any] = {"outcome": "completed"}
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await execute(plan["cancel"])
                group.cancel_scope.cancel()

            group.start_soon(call)
            await anyio.sleep(plan["cancelAfterMs"] / 1000)
            request_id = session._request_id - 1  # the call above: 1.x numbers requests in order
            await session.send_notification(
                types.ClientNotification(
                    types.CancelledNotification(
                        params=types.CancelledNotificationParams(requestId=request_id, reason="the matrix test cancels")
                    )
                )
            )
            cancel = {"outcome": "cancelled"}
            group.cancel_scope.cancel()
        cancel["ms"] = round((time.monotonic() - started) * 1000)
        cancel["abandoned"] = await observed.event("execution_abandoned")
        follow_up = await execute(plan["followUp"])
        return report(initialized.protocolVersion, tools, executed, progressed, observed, cancel, follow_up)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--plan", required=True)
    args = parser.parse_args()
    plan = json.loads(args.plan)
    run = run_v2 if hasattr(mcp, "Client") else run_v1
    print(json.dumps(anyio.run(run, args.url, plan)))


if __name__ == "__main__":
    main()
