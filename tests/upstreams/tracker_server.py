#!/usr/bin/env python3
"""Deterministic in-memory issue tracker MCP server, shaped like GitHub's: an upstream whose tools
declare no outputSchema and answer with JSON text, as server-github's and most real servers do.

Built on the Python `mcp` SDK 1.x (FastMCP, each tool with structured_output=False), served
over streamable HTTP at http://127.0.0.1:PORT/mcp (loopback only).

    python tests/upstreams/tracker_server.py [--port 3104]

Stdout carries exactly one line, "tracker listening on http://127.0.0.1:PORT/mcp", once the
socket is bound. The issues never change; `search_issues` matches words of titles and labels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Annotated, Literal

from pydantic import Field

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

HOST = "127.0.0.1"
DEFAULT_PORT = 3104

ISSUES = [
    {"number": 101, "title": "Crash when saving an empty file", "state": "open",
     "labels": ["bug", "editor"], "assignee": "ada", "comments": 3},
    {"number": 102, "title": "Add dark mode", "state": "open",
     "labels": ["feature"], "assignee": None, "comments": 12},
    {"number": 103, "title": "Crash on startup with a corrupt config", "state": "closed",
     "labels": ["bug"], "assignee": "grace", "comments": 5},
    {"number": 104, "title": "Document the plugin API", "state": "open",
     "labels": ["docs"], "assignee": None, "comments": 0},
    {"number": 105, "title": "Slow search in large projects", "state": "open",
     "labels": ["bug", "performance"], "assignee": "ada", "comments": 8},
]

COMMENTS = {
    101: [("grace", "I can reproduce this on 2.3."), ("ada", "Fixed in the branch fix-empty-save."),
          ("linus", "Confirmed fixed.")],
    105: [("grace", "Profiling shows the indexer."), ("ada", "Caching the index helps a lot.")],
}


def _issue(issue: dict, with_body: bool = False) -> dict:
    """An issue as the API answers it: labels and assignee as objects, as GitHub's do."""
    shown = {
        "number": issue["number"],
        "title": issue["title"],
        "state": issue["state"],
        "labels": [{"name": name} for name in issue["labels"]],
        "assignee": {"login": issue["assignee"]} if issue["assignee"] else None,
        "comments": issue["comments"],
    }
    if with_body:
        shown["body"] = f"Reported in the tracker as #{issue['number']}."
    return shown


def build_server(port: int) -> FastMCP:
    mcp = FastMCP(name="tracker", host=HOST, port=port, streamable_http_path="/mcp", log_level="WARNING")
    read_only = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)

    @mcp.tool(annotations=read_only, structured_output=False)
    def search_issues(
        query: Annotated[str, Field(description="Words to find in titles and labels")],
        state: Literal["open", "closed"] | None = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> str:
        """Search issues by words in their titles and labels."""
        words = query.lower().split()
        found = [
            issue for issue in ISSUES
            if (state is None or issue["state"] == state)
            and all(word in (issue["title"].lower() + " " + " ".join(issue["labels"])) for word in words)
        ]
        return json.dumps({"total_count": len(found), "incomplete_results": False,
                           "items": [_issue(issue) for issue in found[:limit]]})

    @mcp.tool(annotations=read_only, structured_output=False)
    def get_issue(number: int) -> str:
        """One issue, with its body."""
        for issue in ISSUES:
            if issue["number"] == number:
                return json.dumps(_issue(issue, with_body=True))
        raise ValueError(f"no issue #{number}")

    @mcp.tool(annotations=read_only, structured_output=False)
    def count_by_label(labels: list[str]) -> str:
        """How many issues carry each of these labels, keyed by label."""
        return json.dumps({label: sum(label in issue["labels"] for issue in ISSUES) for label in labels})

    @mcp.tool(annotations=read_only, structured_output=False)
    def list_comments(number: int) -> str:
        """The comments on an issue, oldest first."""
        comments = COMMENTS.get(number, [])
        return json.dumps([
            {"id": number * 100 + at, "user": {"login": login}, "body": body}
            for at, (login, body) in enumerate(comments)
        ])

    return mcp


async def serve(mcp: FastMCP, port: int) -> None:
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:  # type: ignore[override]
            await super().startup(sockets)
            if self.started:
                print(f"tracker listening on http://{HOST}:{port}/mcp", flush=True)

    config = uvicorn.Config(mcp.streamable_http_app(), host=HOST, port=port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=2)
    await _Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    try:
        asyncio.run(serve(build_server(args.port), args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
