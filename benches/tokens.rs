//! Token footprint, counted with a real tokenizer (tiktoken's o200k_base, the GPT-4o family's):
//!
//! - `tools/list` as an agent receives it, traditional exposure (every upstream tool) against
//!   the runner's two tools, for each captured fixture and for synthetic upstreams of 10, 100
//!   and 1,000 tools;
//! - the scripted tasks of `benches/tasks.mjs` (their transcripts in
//!   `benches/results/task_transcripts.json`), both ways.
//!
//! Writes `benches/results/tokens.json`. Run by `make bench` (`cargo bench --bench tokens`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the report on stdout and the failure on stderr are what the bench is run for"
)]

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use std::fs;
use std::path::{Path, PathBuf};

use mcp_isolate_runner::codemode::catalog::{Catalog, UpstreamTools};
use mcp_isolate_runner::codemode::tools::definitions;
use rmcp::model::Tool;
use serde_json::{json, Value};
use tiktoken_rs::CoreBPE;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tokens of `value` as compact JSON, as it travels.
fn tokens(bpe: &CoreBPE, value: &Value) -> usize {
    bpe.encode_with_special_tokens(&value.to_string()).len()
}

/// One row of the footprint table: `tools` upstream tools listed both ways.
fn footprint(bpe: &CoreBPE, name: &str, upstreams: Vec<UpstreamTools>) -> Value {
    let all: Vec<&Tool> = upstreams
        .iter()
        .flat_map(|u| {
            u.tools
                .as_ref()
                .map(|t| t.iter().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    let traditional = tokens(bpe, &json!({ "tools": all }));
    let runner = tokens(
        bpe,
        &json!({ "tools": definitions(&Catalog::new(upstreams.clone())) }),
    );
    json!({
        "upstream": name,
        "tools": all.len(),
        "traditional": traditional,
        "runner": runner,
        "reduction": 1.0 - runner as f64 / traditional as f64,
    })
}

/// The fixtures' tool lists, each as one upstream named after its file.
fn fixtures() -> Vec<(String, Vec<UpstreamTools>)> {
    let dir = root().join("tests/fixtures");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".json")?
                .replace(".tools", "");
            let listed: Value = serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
            let tools: Vec<Tool> = serde_json::from_value(listed["tools"].clone()).ok()?;
            let upstream = name.split('.').next()?.replace('-', "_");
            Some((name, vec![UpstreamTools::new(upstream, Ok(tools))]))
        })
        .collect()
}

/// Tokens of one side of a task transcript: its definitions once, then every call and result.
fn transcript_tokens(bpe: &CoreBPE, side: &Value) -> usize {
    let turns = side["turns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    tokens(bpe, &side["definitions"])
        + turns
            .iter()
            .map(|turn| tokens(bpe, &turn["call"]) + tokens(bpe, &turn["result"]))
            .sum::<usize>()
}

/// Token costs of the scripted tasks, when their transcripts exist.
fn tasks(bpe: &CoreBPE, transcripts: &Path) -> Value {
    let Ok(text) = fs::read_to_string(transcripts) else {
        return Value::Null;
    };
    let Ok(recorded) = serde_json::from_str::<Value>(&text) else {
        return Value::Null;
    };
    let rows: Vec<Value> = recorded["tasks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|task| {
            let traditional = transcript_tokens(bpe, &task["traditional"]);
            let codemode = transcript_tokens(bpe, &task["codemode"]);
            json!({
                "task": task["name"],
                "traditional": traditional,
                "codemode": codemode,
                "reduction": 1.0 - codemode as f64 / traditional as f64,
            })
        })
        .collect();
    let total = |side: &str| rows.iter().filter_map(|r| r[side].as_u64()).sum::<u64>();
    let (traditional, codemode) = (total("traditional"), total("codemode"));
    json!({
        "rows": rows,
        "total": {
            "traditional": traditional,
            "codemode": codemode,
            "reduction": 1.0 - codemode as f64 / traditional as f64,
        },
    })
}

fn main() {
    let bpe = tiktoken_rs::o200k_base().expect("tiktoken-rs embeds o200k_base");
    let mut rows: Vec<Value> = fixtures()
        .into_iter()
        .map(|(name, upstreams)| footprint(&bpe, &name, upstreams))
        .collect();
    for size in [10, 100, 1_000] {
        let name = format!("synthetic, {size} tools");
        rows.push(footprint(
            &bpe,
            &name,
            synthetic::synthetic_upstreams(1, size),
        ));
    }
    let results = root().join("benches/results");
    let report = json!({
        "tokenizer": "o200k_base (tiktoken-rs)",
        "footprint": rows,
        "tasks": tasks(&bpe, &results.join("task_transcripts.json")),
    });
    let out = results.join("tokens.json");
    let written =
        fs::create_dir_all(&results).and_then(|()| fs::write(&out, format!("{report:#}\n")));
    match written {
        Ok(()) => println!("{report:#}\nwritten to {}", out.display()),
        Err(e) => {
            eprintln!("could not write {}: {e}", out.display());
            std::process::exit(1);
        }
    }
}
