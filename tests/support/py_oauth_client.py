#!/usr/bin/env python3
"""Connects to the runner with the Python `mcp` SDK's OAuth client (1.x or 2.x) and runs code.

    python tests/support/py_oauth_client.py --url URL --code CODE

When the SDK sends the person to sign in, prints one line `AUTHORIZE <url>` and reads from
stdin the URL the browser was redirected to afterwards (the test plays the browser). Then it
initializes, lists the tools, calls `execute` with CODE, and prints one JSON line:

    {"tools": [name, ...], "result": CallToolResult}

Any failure is printed on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from urllib.parse import parse_qs, urlparse

import anyio

from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

MCP_MAJOR = int(importlib.metadata.version("mcp").split(".")[0])

if MCP_MAJOR >= 2:
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
    from mcp.shared.auth import AuthorizationCodeResult
else:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

# Where the client says its authorization responses go; nothing listens there.
REDIRECT_URL = "http://127.0.0.1:33418/callback"


class MemoryStorage(TokenStorage):
    """The client's registration and tokens, for this run only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def send_to_sign_in(url: str) -> None:
    print("AUTHORIZE", url, flush=True)


async def come_back():
    line = (await anyio.to_thread.run_sync(sys.stdin.readline)).strip()
    query = {k: v[0] for k, v in parse_qs(urlparse(line).query).items()}
    if "code" not in query:
        raise RuntimeError(f"the sign-in came back without a code: {line}")
    if MCP_MAJOR >= 2:
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))
    return query["code"], query.get("state")


async def run(url: str, code: str) -> dict:
    oauth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name=f"python mcp {MCP_MAJOR}.x",
            redirect_uris=[REDIRECT_URL],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=MemoryStorage(),
        redirect_handler=send_to_sign_in,
        callback_handler=come_back,
    )
    async with create_mcp_http_client(auth=oauth) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = [tool.name for tool in (await session.list_tools()).tools]
                result = await session.call_tool("execute", {"code": code})
                return {"tools": tools, "result": result.model_dump(mode="json", exclude_none=True, by_alias=True)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--code", required=True)
    args = parser.parse_args()
    try:
        print(json.dumps(anyio.run(run, args.url, args.code)), flush=True)
    except BaseException as exc:  # noqa: BLE001 - reported, not swallowed
        print(f"py_oauth_client: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
