// Reading a benchmark results file and checking its shape: `readJson` parses it, a `Checker`
// collects every problem of one file and reports them all at once as a `ReportError`.

import { readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** A problem with the inputs or the arguments: reported without a stack trace. */
export class ReportError extends Error {}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
/** A value as it appears in a message: JSON, cut at 80 characters. */
export const show = (v) => (v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 80));

/** Parsed JSON of `dir/name`; throws a ReportError saying how to produce it when missing. */
export function readJson(dir, name, producer) {
  const path = join(dir, name);
  const shown = relative(process.cwd(), path) || path;
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") {
      throw new ReportError(`${shown} is missing: run \`${producer}\` (or \`make bench\`) first`);
    }
    throw new ReportError(`cannot read ${shown}: ${error.message}`);
  }
  try {
    return { shown, data: JSON.parse(text) };
  } catch (error) {
    throw new ReportError(`${shown} is not valid JSON: ${error.message}`);
  }
}

/** Collects every problem of one file; `done()` throws them all at once. */
export class Checker {
  constructor(file) {
    this.file = file;
    this.errors = [];
  }

  fail(path, message) {
    this.errors.push(`${path}: ${message}`);
    return undefined;
  }

  /** Reports `value` at `path` unless it is an object; false when it was reported. */
  expectObject(value, path) {
    if (isObject(value)) {
      return true;
    }
    this.fail(path, `expected an object, got ${show(value)}`);
    return false;
  }

  /** `parent[key]`, or undefined (reported) when missing; silent when `parent` was bad. */
  get(parent, key, path) {
    if (!isObject(parent)) {
      return undefined;
    }
    if (!(key in parent)) {
      return this.fail(path, "missing");
    }
    return parent[key];
  }

  object(parent, key, path, { nullable = false } = {}) {
    const v = this.get(parent, key, path);
    if (v === undefined || (nullable && v === null)) {
      return v;
    }
    return isObject(v) ? v : this.fail(path, `expected an object${nullable ? " or null" : ""}, got ${show(v)}`);
  }

  array(parent, key, path) {
    const v = this.get(parent, key, path);
    if (v === undefined) {
      return v;
    }
    if (!Array.isArray(v)) {
      return this.fail(path, `expected an array, got ${show(v)}`);
    }
    return v.length > 0 ? v : this.fail(path, "expected a non-empty array");
  }

  /**
   * The array `parent[key]`, each of its items that is an object checked with
   * `check(item, itemPath, index, items)`; an item that is not an object is reported.
   */
  eachObject(parent, key, path, check) {
    const items = this.array(parent, key, path);
    items?.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      if (this.expectObject(item, itemPath)) {
        check(item, itemPath, i, items);
      }
    });
    return items;
  }

  string(parent, key, path) {
    const v = this.get(parent, key, path);
    if (v === undefined) {
      return v;
    }
    return typeof v === "string" && v.trim() !== "" ? v : this.fail(path, `expected a non-empty string, got ${show(v)}`);
  }

  oneOf(parent, key, path, values) {
    const v = this.get(parent, key, path);
    if (v === undefined) {
      return v;
    }
    return values.includes(v) ? v : this.fail(path, `expected one of ${values.map(show).join(", ")}, got ${show(v)}`);
  }

  /** A finite number in [min, max] (`above`: strictly greater), optionally an integer. */
  number(parent, key, path, { min = -Infinity, max = Infinity, above, integer = false, nullable = false } = {}) {
    const v = this.get(parent, key, path);
    if (v === undefined || (nullable && v === null)) {
      return v;
    }
    const ok =
      typeof v === "number" &&
      Number.isFinite(v) &&
      v >= min &&
      v <= max &&
      (above === undefined || v > above) &&
      (!integer || Number.isInteger(v));
    if (ok) {
      return v;
    }
    const range = [
      above !== undefined ? `> ${above}` : min !== -Infinity ? `≥ ${min}` : "",
      max !== Infinity ? `≤ ${max}` : "",
    ].filter(Boolean);
    return this.fail(path, `expected ${integer ? "an integer" : "a finite number"}${range.length ? ` ${range.join(" and ")}` : ""}${nullable ? " or null" : ""}, got ${show(v)}`);
  }

  /** `{ p50_ms, p95_ms }` with 0 ≤ p50 ≤ p95. */
  percentiles(parent, key, path, { nullable = false } = {}) {
    const v = this.object(parent, key, path, { nullable });
    if (!v) {
      return v;
    }
    const p50 = this.number(v, "p50_ms", `${path}.p50_ms`, { min: 0 });
    const p95 = this.number(v, "p95_ms", `${path}.p95_ms`, { min: 0 });
    if (p50 !== undefined && p95 !== undefined && p95 < p50) {
      this.fail(path, `p95_ms (${p95}) is below p50_ms (${p50})`);
    }
    return v;
  }

  done() {
    if (this.errors.length > 0) {
      throw new ReportError(`${this.file} is malformed:\n${this.errors.map((e) => `  - ${e}`).join("\n")}`);
    }
  }
}
