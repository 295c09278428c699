// The chart of the load test's latency distribution: executions per latency bucket.

import { fixed, int, ms, rate } from "../format.mjs";
import { COLORS, NUMBER_FORMAT, renderSvg } from "./svg.mjs";

/** Bucket labels: "≤ 10", "10–20", …, "> 5,000". */
function bucketLabels(histogram) {
  return histogram.map((b, i) => {
    const previous = i > 0 ? histogram[i - 1].le_ms : null;
    if (b.le_ms === null) {
      return previous === null ? "all" : `> ${int(previous)}`;
    }
    return previous === null ? `≤ ${int(b.le_ms)}` : `${int(previous)}–${int(b.le_ms)}`;
  });
}

/** One bar per (non-cumulative) bucket of `load.histogram`, its count above it. */
export function loadChart(load) {
  const labels = bucketLabels(load.histogram);
  const buckets = load.histogram.map((b, i) => ({ bucket: labels[i], count: b.count, label: int(b.count) }));
  return renderSvg({
    title: {
      text: "Latency distribution under load",
      subtitle: [
        `${int(load.executions)} executions at concurrency ${int(load.concurrency)}, ${rate(load.successRate)} succeeded, ${fixed(load.throughputPerS, 1)} per second`,
        `p50 ${ms(load.p50_ms)} · p95 ${ms(load.p95_ms)} · p99 ${ms(load.p99_ms)} · max ${ms(load.max_ms)}`,
      ],
    },
    height: 300,
    data: { values: buckets },
    encoding: {
      x: {
        field: "bucket",
        type: "ordinal",
        sort: labels,
        axis: { title: "client-side latency per execution (ms)", labelAngle: -40, grid: false },
      },
      y: { field: "count", type: "quantitative", axis: { title: "executions", format: NUMBER_FORMAT, tickCount: 5 } },
    },
    layer: [
      { mark: { type: "bar", color: COLORS.runner, width: { band: 0.78 } } },
      { mark: { type: "text", baseline: "bottom", dy: -4, color: COLORS.runnerText }, encoding: { text: { field: "label" } } },
    ],
  });
}
