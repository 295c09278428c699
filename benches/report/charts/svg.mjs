// Draws a Vega-Lite chart as SVG, headlessly: Vega-Lite compiles the spec to Vega, and a Vega
// view with no renderer (no DOM, no canvas) writes the SVG. Holds the look the charts share.

import * as vega from "vega";
import { compile } from "vega-lite";

/** Total width of every chart, in px. */
const WIDTH = 720;

export const COLORS = {
  runner: "#3b82f6",
  runnerMark: "#1d4ed8",
  runnerText: "#1e3a8a",
  direct: "#9ca3af",
  directMark: "#4b5563",
  codemode: "#f97316",
  target: "#15803d",
  axis: "#374151",
  muted: "#6b7280",
  text: "#111827",
};

const CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  background: "#ffffff",
  padding: 16,
  title: { anchor: "start", fontSize: 15, fontWeight: "bold", color: COLORS.text, subtitleFontSize: 12, subtitleColor: COLORS.axis, offset: 14 },
  axis: { labelFontSize: 11, labelColor: COLORS.axis, titleFontSize: 12, titleFontWeight: "normal", titleColor: COLORS.axis, gridColor: "#e5e7eb", domainColor: COLORS.axis, tickColor: COLORS.axis },
  legend: { orient: "top", direction: "vertical", title: null, labelFontSize: 12, labelColor: COLORS.text, labelLimit: 0, symbolStrokeWidth: 0 },
  text: { fontSize: 11 },
  view: { stroke: null },
};

/** Axis labels with thousands separators and no trailing zeros: 0.5, 20, 1,000. */
export const NUMBER_FORMAT = ",~r";

/** The SVG of the Vega-Lite `spec`, `WIDTH` px wide, with the shared look. */
export async function renderSvg(spec) {
  const { spec: compiled } = compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: WIDTH,
    autosize: { type: "fit-x", contains: "padding" },
    config: CONFIG,
    ...spec,
  });
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}
