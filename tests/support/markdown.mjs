// Reading examples out of the docs, so tests can run exactly what the docs show.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { ROOT } from "./stack.mjs";

/** The text of the fenced block after `<!-- example: name -->` in a Markdown file. */
export function example(name, file = join(ROOT, "README.md")) {
  const text = readFileSync(file, "utf8");
  const marker = `<!-- example: ${name} -->`;
  const start = text.indexOf(marker);
  assert.ok(start >= 0, `${file} has no example named ${name}`);
  const fence = text.indexOf("```", start);
  const body = text.indexOf("\n", fence) + 1;
  return text.slice(body, text.indexOf("\n```", body) + 1);
}
