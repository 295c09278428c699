// The chart of the token footprint: tokens of `tools/list` against the number of upstream tools,
// traditional and through the runner, on log scales, with the 1,000-token target.

import { int } from "../format.mjs";
import { COLORS, NUMBER_FORMAT, renderSvg } from "./svg.mjs";

// `offsets`: where the value labels go, above or below the points; the runner's points sit on
// one line, so its labels alternate between two rows to stay apart.
const SERIES = [
  { key: "traditional", label: "traditional: every upstream tool", color: COLORS.directMark, text: COLORS.axis, offsets: [-10] },
  { key: "runner", label: "runner: search + execute", color: COLORS.runnerMark, text: COLORS.runnerText, offsets: [14, 26] },
];
const CAPTURED = "captured server";
const SYNTHETIC = "synthetic (joined by a line)";
const TARGET_TOKENS = 1000;

const isSynthetic = (row) => /^synthetic\b/i.test(row.upstream);

/** One point per upstream and series; the synthetic upstreams joined by a line per series. */
export function tokensChart(tokens) {
  const points = tokens.footprint.flatMap((row) =>
    SERIES.map((s) => ({
      upstream: row.upstream,
      tools: row.tools,
      series: s.label,
      tokens: row[s.key],
      label: int(row[s.key]),
      kind: isSynthetic(row) ? SYNTHETIC : CAPTURED,
    })),
  );
  // Few ticks, so that a log axis is labelled at powers of ten only.
  const log = (title) => ({ type: "quantitative", scale: { type: "log" }, axis: { title, format: NUMBER_FORMAT, tickCount: 3 } });
  // Every layer but the target's is placed by its upstream's tool count, coloured by series.
  const x = { field: "tools", ...log("upstream tools (log scale)") };
  const color = { field: "series", type: "nominal", scale: { domain: SERIES.map((s) => s.label), range: SERIES.map((s) => s.color) } };
  const labels = SERIES.flatMap((s) =>
    s.offsets.map((dy, row) => ({
      transform: [
        { filter: { field: "series", equal: s.label } },
        { window: [{ op: "row_number", as: "order" }], sort: [{ field: "tools" }] },
        { filter: `(datum.order - 1) % ${s.offsets.length} === ${row}` },
      ],
      mark: { type: "text", dy, color: s.text },
      encoding: { x, text: { field: "label" } },
    })),
  );
  return renderSvg({
    title: "tools/list size against the number of upstream tools",
    height: 350,
    data: { values: points },
    encoding: { y: { field: "tokens", ...log("tools/list tokens (log scale)") } },
    layer: [
      {
        transform: [{ filter: { field: "kind", equal: SYNTHETIC } }],
        mark: { type: "line", strokeWidth: 1.5, opacity: 0.6 },
        encoding: { x, color },
      },
      {
        mark: { type: "point", filled: true, size: 70, opacity: 1, stroke: "#ffffff", strokeWidth: 1 },
        encoding: {
          x,
          color,
          shape: {
            field: "kind",
            type: "nominal",
            scale: { domain: [CAPTURED, SYNTHETIC], range: ["circle", "square"] },
            legend: { symbolFillColor: COLORS.muted },
          },
        },
      },
      ...labels,
      {
        data: { values: [{ tokens: TARGET_TOKENS, label: `target: ≤ ${int(TARGET_TOKENS)} tokens` }] },
        encoding: { color: { value: COLORS.target } },
        layer: [
          { mark: { type: "rule", strokeWidth: 1.5, strokeDash: [6, 4] } },
          { mark: { type: "text", x: "width", align: "right", dx: -6, dy: -8 }, encoding: { text: { field: "label" } } },
        ],
      },
    ],
  });
}
