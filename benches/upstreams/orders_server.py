#!/usr/bin/env python3
"""Deterministic "orders" MCP server for the task benchmarks (benches/tasks.mjs).

250 orders of the inventory test server's products, 25 customers, and a paginated listing,
served over streamable HTTP at http://127.0.0.1:PORT/mcp (loopback only) with the Python
`mcp` SDK 1.x (FastMCP):

    python benches/upstreams/orders_server.py --port 3110
"""

from __future__ import annotations

import argparse
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp.server.fastmcp import FastMCP

# The inventory test server's SKUs and prices (tests/upstreams/inventory_server.py).
PRICES = {
    "TL-001": 14.99, "TL-002": 89.0, "TL-003": 19.5, "TL-004": 7.25,
    "GD-001": 34.0, "GD-002": 22.75, "GD-003": 49.99, "GD-004": 12.0,
    "KT-001": 59.0, "KT-002": 39.9, "KT-003": 16.0, "KT-004": 29.99,
}
STATUSES = ("open", "shipped", "cancelled")
TIERS = ("gold", "silver", "bronze")


class Order(BaseModel):
    id: str
    customer: str
    sku: str
    quantity: int
    status: Literal["open", "shipped", "cancelled"]
    amount: float


class OrderPage(BaseModel):
    orders: list[Order]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class Customer(BaseModel):
    id: str
    name: str
    tier: Literal["gold", "silver", "bronze"]


def _order(n: int) -> Order:
    sku = list(PRICES)[n % len(PRICES)]
    quantity = 1 + (n * 7) % 5
    return Order(
        id=f"o-{n:03d}",
        customer=f"c-{1 + n % 25:02d}",
        sku=sku,
        quantity=quantity,
        status=STATUSES[(n * 5) % 3],
        amount=round(PRICES[sku] * quantity, 2),
    )


ORDERS = [_order(n) for n in range(1, 251)]
CUSTOMERS = {
    f"c-{n:02d}": Customer(id=f"c-{n:02d}", name=f"Customer {n:02d}", tier=TIERS[n % 3])
    for n in range(1, 26)
}


def build_server(port: int) -> FastMCP:
    mcp = FastMCP(name="orders", host="127.0.0.1", port=port, log_level="WARNING")

    @mcp.tool()
    def list_orders(
        page_size: Annotated[int, Field(ge=1, le=100, description="Orders per page")] = 50,
        cursor: Annotated[str | None, Field(description="From the previous page's next_cursor")] = None,
    ) -> OrderPage:
        """List orders, oldest first, one page at a time."""
        start = int(cursor) if cursor else 0
        end = start + page_size
        return OrderPage(orders=ORDERS[start:end], next_cursor=str(end) if end < len(ORDERS) else None)

    @mcp.tool()
    def get_order(id: Annotated[str, Field(description="Order id, e.g. o-007")]) -> Order:
        """One order by id."""
        for order in ORDERS:
            if order.id == id:
                return order
        raise ValueError(f"unknown order: {id}")

    @mcp.tool()
    def get_customer(id: Annotated[str, Field(description="Customer id, e.g. c-07")]) -> Customer:
        """One customer by id, with their loyalty tier."""
        if id not in CUSTOMERS:
            raise ValueError(f"unknown customer: {id}")
        return CUSTOMERS[id]

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3110)
    build_server(parser.parse_args().port).run("streamable-http")


if __name__ == "__main__":
    main()
