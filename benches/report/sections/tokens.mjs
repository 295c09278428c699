// The token sections of docs/benchmarks.md: the size of `tools/list` per upstream (with its
// chart) and, when the task benchmark ran, the tokens each scripted task costs.

import { int, pct, table } from "../format.mjs";

function footprint(tokens) {
  return [
    "## Token footprint",
    "",
    "Tokens of `tools/list` as the agent receives it: traditionally, every tool of the upstream; through",
    "the runner, its two tools (`search` and `execute`) for the same upstream. Captured servers are the",
    "recorded tool lists of real MCP servers; synthetic upstreams have 10, 100 and 1,000 generated tools.",
    "",
    table(
      ["upstream", "tools", "traditional tokens", "runner tokens", "reduction"],
      tokens.footprint.map((r) => [r.upstream, int(r.tools), int(r.traditional), int(r.runner), pct(r.reduction)]),
      ["l", "r", "r", "r", "r"],
    ),
    "",
    "![tools/list tokens against the number of upstream tools, log scales: traditional grows with every tool, the runner stays flat](benchmarks/tokens.svg)",
  ];
}

function tasks(tokens) {
  if (!tokens.tasks) {
    return ["The task benchmark was not run (`tasks` is null in `tokens.json`): run `node benches/tasks.mjs`, then `cargo bench --bench tokens`."];
  }
  const { rows, total } = tokens.tasks;
  return [
    "Tokens that enter the agent's context to finish each scripted task (`benches/tasks.mjs`): the",
    "tool definitions once, then every call and its result. Traditionally the agent calls every tool",
    "itself; in code mode it makes one `search` and one `execute` and reads only the final result.",
    "",
    table(
      ["task", "traditional tokens", "code mode tokens", "reduction"],
      [
        ...rows.map((r) => [r.task, int(r.traditional), int(r.codemode), pct(r.reduction)]),
        ["**total**", `**${int(total.traditional)}**`, `**${int(total.codemode)}**`, `**${pct(total.reduction)}**`],
      ],
      ["l", "r", "r", "r"],
    ),
  ];
}

/** The section's lines. */
export function tokensSection({ tokens }) {
  return [...footprint(tokens), "", "## Task token cost", "", ...tasks(tokens)];
}
