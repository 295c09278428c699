// Generated from tests/fixtures/py-mcpserver.tools.json; refresh with UPDATE_SNAPSHOTS=1.
declare namespace pyserver {
  type Address = {
    street: string;
    city: string;
    /**
     * "ISO 3166-1 alpha-2"
     * @pattern ^[A-Z]{2}$
     */
    country_code: string;
  };
  type LineItem = {
    /** "Stock keeping unit" */
    sku: string;
    /**
     * @minimum 1
     * @maximum 1000
     */
    quantity: number;
    /** @exclusiveMinimum 0 */
    unit_price: number;
  };
  /**
   * Upstream's description: "Search documents with filters"
   * @mcpTool search_docs
   */
  function search_docs(args: {
    /**
     * "Full-text query"
     * @minLength 1
     * @maxLength 200
     */
    query: string;
    /**
     * @minimum 1
     * @maximum 50
     * @default 10
     */
    limit?: number;
    /** @default relevance */
    sort?: "relevance" | "date" | "title";
    /** @default null */
    tags?: string[] | null;
  }): Promise<{
    result: Record<string, unknown>[];
  }>;
  /**
   * Upstream's description: "Create an order with nested line items and shipping address"
   * @mcpTool create_order
   */
  function create_order(args: {
    customer_id: string;
    items: LineItem[];
    shipping: Address;
    /** @default false */
    express?: boolean;
    /** @default null */
    notes?: string | null;
  }): Promise<{
    order_id: string;
    total: number;
    item_count: number;
  }>;
  /**
   * Upstream's description: "Always fails; for testing isError propagation"
   * @mcpTool fail_always
   */
  function fail_always(args?: {
    /**
     * "Message to raise"
     * @default boom
     */
    reason?: string;
  }): Promise<{
    result: string;
  }>;
}
