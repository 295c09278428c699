// Number and Markdown formatting for the benchmark report. en-US explicitly, so the output does
// not depend on the machine's locale; the charts use the same functions for their labels.

const formats = new Map();

/** `n` with exactly `digits` decimals and thousands separators; never "-0". */
export function fixed(n, digits) {
  // Round first, so that -0.04 prints as "0.0", not "-0.0".
  const rounded = Number(n.toFixed(digits));
  const value = Object.is(rounded, -0) || rounded === 0 ? 0 : rounded;
  if (!formats.has(digits)) {
    formats.set(digits, new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return formats.get(digits).format(value);
}

/** 1,234 */
export const int = (n) => fixed(n, 0);

/** A duration without its unit: 0.42, 12.3, 1,234. */
function msValue(ms) {
  const abs = Math.abs(ms);
  return fixed(ms, abs < 1 ? 2 : abs < 1000 ? 1 : 0);
}

/** 12.3 ms */
export const ms = (value) => `${msValue(value)} ms`;

/** 84.1% */
export const pct = (ratio, digits = 1) => `${fixed(ratio * 100, digits)}%`;

/** 1.23× */
export const times = (ratio) => `${fixed(ratio, 2)}×`;

/** A success rate, truncated rather than rounded: 99.996% is "99.99%", never "100.00%". */
export const rate = (ratio) => `${fixed(Math.floor(ratio * 10_000 + 1e-9) / 100, 2)}%`;

/** A table cell: pipes escaped, newlines flattened. */
const cell = (text) => String(text).replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
const row = (cells) => `| ${cells.map(cell).join(" | ")} |`;

/** A Markdown table; `align[i]` "r" right-aligns column i. */
export function table(header, rows, align) {
  const rule = header.map((_, i) => (align?.[i] === "r" ? "---:" : "---"));
  return [row(header), `|${rule.join("|")}|`, ...rows.map(row)].join("\n");
}
