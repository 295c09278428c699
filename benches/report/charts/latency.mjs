// The chart of latency per scenario: for each, the p50 of the runner, of direct tool calls and of
// @cloudflare/codemode (when it was run) as bars, with a whisker out to the p95.

import { int, ms } from "../format.mjs";
import { COLORS, NUMBER_FORMAT, renderSvg } from "./svg.mjs";

const SERIES = [
  { key: "runner", label: "runner: execute in a fresh isolate", color: COLORS.runner },
  { key: "direct", label: "direct tool calls (baseline)", color: COLORS.direct },
  { key: "codemode", label: "@cloudflare/codemode", color: COLORS.codemode },
];

/** Milliseconds on a log scale when they span more than this ratio (and none is 0). */
const LOG_ABOVE_RATIO = 30;

/** One bar group per scenario of `latency.scenarios`. */
export function latencyChart(latency) {
  const { scenarios } = latency;
  const series = SERIES.filter((s) => s.key !== "codemode" || scenarios.some((sc) => sc.codemode));
  const bars = scenarios.flatMap((scenario) =>
    series.map((s) => {
      const measured = scenario[s.key];
      return {
        scenario: scenario.name,
        iterations: `${int(scenario.iterations)} iterations`,
        series: s.label,
        p50: measured?.p50_ms ?? null,
        p95: measured?.p95_ms ?? null,
        end: measured ? Math.max(measured.p50_ms, measured.p95_ms) : null,
        label: measured ? ms(measured.p50_ms) : "not run",
      };
    }),
  );
  const values = bars.filter((b) => b.p50 !== null).flatMap((b) => [b.p50, b.p95]);
  const useLog = values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) > LOG_ABOVE_RATIO;
  const ms50 = (field) => ({
    field,
    type: "quantitative",
    scale: { type: useLog ? "log" : "linear" },
    axis: { title: `milliseconds${useLog ? " (log scale)" : ""}`, format: NUMBER_FORMAT },
  });
  const inGroup = { yOffset: { field: "series", sort: series.map((s) => s.label), scale: { paddingInner: 0.2 } } };
  const measured = { filter: "datum.p50 !== null" };
  return renderSvg({
    title: "Latency per scenario: p50 (bar) and p95 (whisker)",
    height: scenarios.length * (series.length * 15 + 22),
    data: { values: bars },
    encoding: {
      y: {
        field: "scenario",
        type: "nominal",
        sort: scenarios.map((s) => s.name),
        axis: { title: null, labelFontSize: 12, labelFontWeight: "bold", labelColor: COLORS.text, labelOffset: -7, labelPadding: 10, labelLimit: 260, ticks: false },
      },
    },
    layer: [
      {
        transform: [measured],
        mark: { type: "bar" },
        encoding: {
          ...inGroup,
          x: { ...ms50("p50"), stack: null },
          color: { field: "series", scale: { domain: series.map((s) => s.label), range: series.map((s) => s.color) } },
        },
      },
      {
        transform: [measured],
        mark: { type: "rule", strokeWidth: 1.5, color: COLORS.axis },
        encoding: { ...inGroup, x: ms50("p50"), x2: { field: "p95" } },
      },
      {
        transform: [measured],
        mark: { type: "tick", orient: "vertical", thickness: 1.5, color: COLORS.axis },
        encoding: { ...inGroup, x: ms50("p95") },
      },
      {
        transform: [measured],
        mark: { type: "text", align: "left", dx: 5, color: COLORS.axis },
        encoding: { ...inGroup, x: ms50("end"), text: { field: "label" } },
      },
      {
        transform: [{ filter: "datum.p50 === null" }],
        mark: { type: "text", align: "left", x: 6, fontStyle: "italic", color: COLORS.muted },
        encoding: { ...inGroup, text: { field: "label" } },
      },
      {
        transform: [{ filter: { field: "series", equal: series[0].label } }],
        mark: { type: "text", align: "right", x: -10, dy: 9, color: COLORS.muted },
        encoding: { text: { field: "iterations" } },
      },
    ],
  });
}
