// SECURITY.md names, for each claim, the code that enforces it and the tests that prove it. A
// name that no longer exists would leave the claim unproved without anyone noticing, so every
// path and every test function the document names is looked up here.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ROOT } from "../support/stack.mjs";

const document = readFileSync(join(ROOT, "SECURITY.md"), "utf8");
const quoted = [...document.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]);

/** Every Rust source file under `dir`, read. */
function rustSources(dir) {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".rs"))
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), "utf8"));
}

test("every file SECURITY.md names as an enforcer or a test exists", () => {
  const paths = quoted.filter((text) => /^(src|tests|worker-template)\/[\w./-]+$/.test(text));
  assert.ok(paths.length > 50, `only ${paths.length} paths found: the pattern no longer matches`);
  const missing = paths.filter((path) => !existsSync(join(ROOT, path)));
  assert.deepEqual(missing, []);
});

test("every test function SECURITY.md names exists", () => {
  const sources = [...rustSources("src"), ...rustSources("tests")].join("\n");
  // Test names are written out as sentences: lowercase words joined by at least four `_`.
  const names = [...new Set(quoted.filter((text) => /^[a-z][a-z0-9]*(_[a-z0-9]+){4,}$/.test(text)))];
  assert.ok(names.length > 30, `only ${names.length} test names found: the pattern no longer matches`);
  const missing = names.filter((name) => !new RegExp(`\\bfn ${name}\\b`).test(sources));
  assert.deepEqual(missing, []);
});
