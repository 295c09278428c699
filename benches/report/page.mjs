// docs/benchmarks.md, put together from its sections.

import { costSection } from "./sections/cost.mjs";
import { latencySection } from "./sections/latency.mjs";
import { loadSection } from "./sections/load.mjs";
import { profileSection } from "./sections/profile.mjs";
import { summarySection } from "./sections/summary.mjs";
import { tokensSection } from "./sections/tokens.mjs";

/**
 * The page's Markdown for `results` ({ tokens, latency, load, profile, cpu }); `recipe` is
 * `make bench`'s.
 */
export function benchmarksPage(results, recipe) {
  const sections = [
    summarySection(results, recipe),
    tokensSection(results),
    latencySection(results),
    profileSection(results),
    loadSection(results),
    costSection(results),
  ];
  return `${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`;
}
