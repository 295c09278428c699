// Generated from tests/fixtures/inventory.tools.json; refresh with UPDATE_SNAPSHOTS=1.
declare namespace inventory {
  type Address = {
    street: string;
    city: string;
    postcode: string;
    /**
     * "ISO 3166-1 alpha-2 code"
     * @pattern ^[A-Z]{2}$
     */
    country: string;
  };
  type Category = "tools" | "garden" | "kitchen";
  type Customer = {
    /** @minLength 1 */
    name: string;
    /** @pattern ^[^@\s]+@[^@\s]+\.[^@\s]+$ */
    email: string;
  };
  type OrderLine = {
    sku: string;
    /** @minimum 1 */
    quantity: number;
  };
  type OrderRequest = {
    customer: Customer;
    /** @minItems 1 */
    lines: OrderLine[];
    /** @default null */
    shipping?: Address | null;
  };
  /** "Inclusive price bounds; either side may be omitted." */
  type PriceRange = {
    /**
     * "Lowest price, inclusive"
     * @default null
     */
    min?: number | null;
    /**
     * "Highest price, inclusive"
     * @default null
     */
    max?: number | null;
  };
  type PricedLine = {
    sku: string;
    name: string;
    quantity: number;
    unit_price: number;
    line_total: number;
  };
  type Product = {
    sku: string;
    name: string;
    category: Category;
    price: number;
    tags: string[];
    stock: number;
  };
  /** "All given criteria must match; omitted criteria match everything." */
  type ProductFilter = {
    /**
     * "Only products of this category"
     * @default null
     */
    category?: Category | null;
    /**
     * "Only products within this price range"
     * @default null
     */
    price?: PriceRange | null;
    /**
     * "Only products carrying all of these tags"
     * @default null
     */
    tags?: string[] | null;
  };
  /**
   * Upstream's description: "Search the catalogue. Items are returned in catalogue order (by SKU family)."
   * @mcpTool search_products
   */
  function search_products(args: {
    filter: ProductFilter;
    /**
     * "Maximum number of items returned"
     * @minimum 1
     * @maximum 100
     * @default 10
     */
    limit?: number;
  }): Promise<{
    items: Product[];
    /** "Number of matching products before the limit was applied" */
    total: number;
  }>;
  /**
   * Upstream's description: "Price an order and assign it the next order id (ord-0001, ord-0002, ...). Stock is not changed."
   * @mcpTool create_order
   */
  function create_order(args: {
    order: OrderRequest;
  }): Promise<{
    order_id: string;
    customer: Customer;
    lines: PricedLine[];
    total: number;
    /** @default null */
    shipping?: Address | null;
  }>;
  /**
   * Upstream's description: "Current stock for one SKU."
   * @mcpTool get_stock
   */
  function get_stock(args: {
    /** "Product SKU, e.g. TL-001" */
    sku: string;
  }): Promise<{
    sku: string;
    stock: number;
  }>;
  /**
   * Upstream's description: "Always raises an error carrying `reason` (for testing upstream isError results)."
   * @mcpTool fail_always
   * @returns the tool's text output, parsed as JSON when it is JSON
   */
  function fail_always(args: {
    reason: string;
  }): Promise<unknown>;
}
