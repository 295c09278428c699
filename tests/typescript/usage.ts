// Programs a model would write against the generated declarations (the *.d.ts files beside
// this one). `make test` compiles them with `tsc --strict --noEmit`: right calls must type-check,
// and each `@ts-expect-error` must stay an error, so the types reject what the tools reject.

export async function usesInventory(): Promise<string[]> {
  const page = await inventory.search_products({
    filter: { category: "garden", price: { min: 5, max: 40 }, tags: null },
    limit: 5,
  });
  const skus: string[] = page.items.map((item) => item.sku);
  const total: number = page.total;

  const order = await inventory.create_order({
    order: {
      customer: { name: "Ada", email: "ada@example.com" },
      lines: [{ sku: skus[0] ?? "TL-001", quantity: 2 }],
      shipping: null,
    },
  });
  const orderId: string = order.order_id;

  // @ts-expect-error: category is an enum of three values
  await inventory.search_products({ filter: { category: "toys" } });
  // @ts-expect-error: filter is required
  await inventory.search_products({ limit: 5 });
  // @ts-expect-error: the result has no `price` field
  (await inventory.get_stock({ sku: "TL-001" })).price;

  return [...skus, String(total), orderId];
}

export async function usesEverything(): Promise<number> {
  const weather = await everything.get_structured_content({ location: "Chicago" });
  const sum: unknown = await everything.get_sum({ a: 2, b: 40 });
  await everything.get_env();
  await everything_caps.echo({ message: "hi" });

  // @ts-expect-error: a and b are numbers
  await everything.get_sum({ a: "2", b: 40 });
  // @ts-expect-error: location is one of three cities
  await everything.get_structured_content({ location: "Paris" });

  return weather.temperature + (typeof sum === "string" ? sum.length : 0);
}

export async function usesGithub(): Promise<void> {
  await github.create_pull_request({ owner: "o", repo: "r", title: "t", head: "feature", base: "main" });
  await github.update_issue({ owner: "o", repo: "r", issue_number: 1, state: "closed" });
  // @ts-expect-error: state is "open" or "closed"
  await github.update_issue({ owner: "o", repo: "r", issue_number: 1, state: "merged" });
}

export async function usesPyserver(): Promise<number> {
  const summary = await pyserver.create_order({
    customer_id: "c1",
    items: [{ sku: "A", quantity: 1, unit_price: 9.5 }],
    shipping: { street: "1 Main St", city: "Springfield", country_code: "US" },
  });
  const found = await pyserver.search_docs({ query: "rust", sort: "date" });
  // @ts-expect-error: shipping is required
  await pyserver.create_order({ customer_id: "c1", items: [] });
  return summary.total + found.result.length;
}
