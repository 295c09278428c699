// The commands of the Makefile's `bench` recipe, which the report shows as how to reproduce it.

import { readFileSync } from "node:fs";

import { ReportError } from "./checker.mjs";

/** The recipe's lines in `makefile`, without the `$(ENV)` prefix. */
export function benchRecipe(makefile) {
  const lines = readFileSync(makefile, "utf8").split("\n");
  const start = lines.findIndex((line) => line.startsWith("bench:"));
  if (start < 0) {
    throw new ReportError("the Makefile has no bench target");
  }
  const recipe = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith("\t")) {
      break;
    }
    recipe.push(line.trim().replace(/^\$\(ENV\)\s*/, ""));
  }
  return recipe;
}
