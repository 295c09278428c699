#!/usr/bin/env python3
"""Deterministic in-memory "inventory" MCP server used as an upstream in tests.

Built on the Python `mcp` SDK 1.x (FastMCP), served over streamable HTTP at
http://127.0.0.1:PORT/mcp (loopback only).

    python tests/upstreams/inventory_server.py [--port 3102] [--json-response] [--stateless]
    python tests/upstreams/inventory_server.py --sse [--port 3102]

Defaults: streamable HTTP, stateful (Mcp-Session-Id issued on initialize) with SSE responses.
`--json-response` makes POSTs answer with application/json instead of SSE;
`--stateless` disables sessions (no Mcp-Session-Id).
`--sse` serves the 2024-11-05 HTTP+SSE transport instead: the event stream at
http://127.0.0.1:PORT/sse names the endpoint messages are POSTed to.

Stdout carries exactly one line, "inventory listening on http://127.0.0.1:PORT/PATH",
printed once the socket is bound and the app is ready. Everything else (warnings,
errors) goes to stderr at WARNING level or above.

Determinism: the catalogue is fixed, stock never changes (create_order does not
decrement it), and order ids come from a per-process counter: ord-0001, ord-0002, ...
(shared by all sessions, so restart the server to start again from ord-0001).
Tool errors are raised as exceptions; FastMCP turns them into a CallToolResult with
isError: true and a single text block "Error executing tool <name>: <message>".
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

HOST = "127.0.0.1"
DEFAULT_PORT = 3102


# --------------------------------------------------------------------------- models


class Category(str, Enum):
    tools = "tools"
    garden = "garden"
    kitchen = "kitchen"


class PriceRange(BaseModel):
    """Inclusive price bounds; either side may be omitted."""

    min: Annotated[float | None, Field(ge=0, description="Lowest price, inclusive")] = None
    max: Annotated[float | None, Field(description="Highest price, inclusive")] = None


class ProductFilter(BaseModel):
    """All given criteria must match; omitted criteria match everything."""

    category: Category | None = Field(default=None, description="Only products of this category")
    price: PriceRange | None = Field(default=None, description="Only products within this price range")
    tags: list[str] | None = Field(default=None, description="Only products carrying all of these tags")


class Product(BaseModel):
    sku: str
    name: str
    category: Category
    price: float
    tags: list[str]
    stock: int


class ProductPage(BaseModel):
    items: list[Product]
    total: int = Field(description="Number of matching products before the limit was applied")


class Customer(BaseModel):
    name: Annotated[str, Field(min_length=1)]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class OrderLine(BaseModel):
    sku: str
    quantity: Annotated[int, Field(ge=1)]


class Address(BaseModel):
    street: str
    city: str
    postcode: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]


class OrderRequest(BaseModel):
    customer: Customer
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    shipping: Address | None = None


class PricedLine(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: float
    line_total: float


class Order(BaseModel):
    order_id: str
    customer: Customer
    lines: list[PricedLine]
    total: float
    shipping: Address | None = None


class StockLevel(BaseModel):
    sku: str
    stock: int


# ------------------------------------------------------------------------ catalogue


def _p(sku: str, name: str, category: str, price: float, tags: list[str], stock: int) -> Product:
    return Product(sku=sku, name=name, category=Category(category), price=price, tags=tags, stock=stock)


CATALOGUE: list[Product] = [
    _p("TL-001", "Claw Hammer", "tools", 14.99, ["hand-tool", "steel"], 25),
    _p("TL-002", "Cordless Drill", "tools", 89.0, ["power-tool", "battery"], 8),
    _p("TL-003", "Screwdriver Set", "tools", 19.5, ["hand-tool", "set"], 40),
    _p("TL-004", "Tape Measure", "tools", 7.25, ["hand-tool", "measuring"], 60),
    _p("GD-001", "Garden Hose 25m", "garden", 34.0, ["watering"], 12),
    _p("GD-002", "Pruning Shears", "garden", 22.75, ["hand-tool", "steel"], 18),
    _p("GD-003", "Compost Bin", "garden", 49.99, ["outdoor", "recycled"], 5),
    _p("GD-004", "Watering Can", "garden", 12.0, ["watering", "recycled"], 30),
    _p("KT-001", "Chef Knife", "kitchen", 59.0, ["steel", "cutting"], 15),
    _p("KT-002", "Cast Iron Pan", "kitchen", 39.9, ["cookware"], 0),
    _p("KT-003", "Cutting Board", "kitchen", 16.0, ["cutting", "wood"], 22),
    _p("KT-004", "Kettle", "kitchen", 29.99, ["electric"], 9),
]
BY_SKU: dict[str, Product] = {p.sku: p for p in CATALOGUE}

_order_numbers = itertools.count(1)


def _lookup(sku: str) -> Product:
    product = BY_SKU.get(sku)
    if product is None:
        raise ValueError(f"unknown SKU: {sku}")
    return product


# ---------------------------------------------------------------------------- tools


def build_server(port: int, json_response: bool, stateless: bool) -> FastMCP:
    mcp = FastMCP(
        name="inventory",
        instructions="Deterministic in-memory inventory used by mcp-isolate-runner tests.",
        host=HOST,
        port=port,
        streamable_http_path="/mcp",
        json_response=json_response,
        stateless_http=stateless,
        log_level="WARNING",
    )

    @mcp.tool(
        title="Search products",
        annotations=ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False),
    )
    def search_products(
        filter: ProductFilter,
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum number of items returned")] = 10,
    ) -> ProductPage:
        """Search the catalogue. Items are returned in catalogue order (by SKU family)."""
        matches: list[Product] = []
        for product in CATALOGUE:
            if filter.category is not None and product.category != filter.category:
                continue
            if filter.price is not None:
                if filter.price.min is not None and product.price < filter.price.min:
                    continue
                if filter.price.max is not None and product.price > filter.price.max:
                    continue
            if filter.tags and not all(tag in product.tags for tag in filter.tags):
                continue
            matches.append(product)
        return ProductPage(items=matches[:limit], total=len(matches))

    @mcp.tool(title="Create order")
    def create_order(order: OrderRequest) -> Order:
        """Price an order and assign it the next order id (ord-0001, ord-0002, ...). Stock is not changed."""
        priced: list[PricedLine] = []
        for line in order.lines:
            product = _lookup(line.sku)
            priced.append(
                PricedLine(
                    sku=product.sku,
                    name=product.name,
                    quantity=line.quantity,
                    unit_price=product.price,
                    line_total=round(product.price * line.quantity, 2),
                )
            )
        total = round(sum(line.line_total for line in priced), 2)
        order_id = f"ord-{next(_order_numbers):04d}"
        return Order(order_id=order_id, customer=order.customer, lines=priced, total=total, shipping=order.shipping)

    @mcp.tool(
        title="Get stock level",
        annotations=ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False),
    )
    def get_stock(sku: Annotated[str, Field(description="Product SKU, e.g. TL-001")]) -> StockLevel:
        """Current stock for one SKU."""
        return StockLevel(sku=sku, stock=_lookup(sku).stock)

    @mcp.tool(title="Always fail", structured_output=False)
    def fail_always(reason: str) -> str:
        """Always raises an error carrying `reason` (for testing upstream isError results)."""
        raise RuntimeError(reason)

    return mcp


# ----------------------------------------------------------------------------- main


class _QuietShutdownNoise(logging.Filter):
    """Drop the SDK's traceback when a client ends a session while its GET stream is open.

    mcp 1.30 logs "Error in standalone SSE writer" + anyio.ClosedResourceError on every
    session DELETE that races the standalone SSE stream; it is harmless.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Error in standalone SSE writer") and record.exc_info:
            import anyio

            return not isinstance(record.exc_info[1], anyio.ClosedResourceError)
        return True



async def serve(mcp: FastMCP, port: int, legacy_sse: bool) -> None:
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:  # type: ignore[override]
            await super().startup(sockets)
            if self.started:
                path = "sse" if legacy_sse else "mcp"
                print(f"inventory listening on http://{HOST}:{port}/{path}", flush=True)

    config = uvicorn.Config(
        mcp.sse_app() if legacy_sse else mcp.streamable_http_app(),
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    await _Server(config).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--json-response", action="store_true", help="answer POSTs with JSON instead of SSE")
    parser.add_argument("--stateless", action="store_true", help="no sessions (no Mcp-Session-Id)")
    parser.add_argument("--sse", action="store_true", help="serve the 2024-11-05 HTTP+SSE transport at /sse")
    args = parser.parse_args(argv)

    mcp = build_server(args.port, args.json_response, args.stateless)
    logging.getLogger("mcp.server.streamable_http").addFilter(_QuietShutdownNoise())
    try:
        asyncio.run(serve(mcp, args.port, args.sse))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
