//! The TypeScript generated from real servers' tool lists, held as golden `.d.ts` files in
//! `tests/typescript/`. `make test` also compiles them, with `tests/typescript/usage.ts`, under
//! `tsc --strict`, so the declarations are valid TypeScript that accepts right calls and
//! rejects wrong ones. After an intended change, refresh them with
//! `UPDATE_SNAPSHOTS=1 cargo test --test declarations`.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

use mcp_isolate_runner::codemode::catalog::{Catalog, UpstreamTools};
use rmcp::model::Tool;
use serde_json::Value;

/// Each fixture and the namespace its tools are declared under.
const FIXTURES: &[(&str, &str)] = &[
    ("server-everything.tools.json", "everything"),
    (
        "server-everything.tools.with-client-caps.json",
        "everything_caps",
    ),
    ("server-github.tools.json", "github"),
    ("py-mcpserver.tools.json", "pyserver"),
    ("inventory.tools.json", "inventory"),
];

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// A fixture's tools, whether stored as a `tools/list` result or as the bare array.
fn load_tools(file: &str) -> Vec<Tool> {
    let text = std::fs::read_to_string(tests_dir().join("fixtures").join(file)).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let tools = match value {
        Value::Object(mut result) => result.remove("tools").unwrap(),
        array => array,
    };
    serde_json::from_value(tools).unwrap()
}

fn declarations(file: &str, namespace: &str) -> String {
    let catalog = Catalog::new(vec![UpstreamTools::new(
        namespace.to_owned(),
        Ok(load_tools(file)),
    )]);
    let all = catalog.namespaces()[0]
        .functions
        .iter()
        .map(|f| (namespace, f.ident.as_str()));
    let all: Vec<(&str, &str)> = all.collect();
    format!(
        "// Generated from tests/fixtures/{file}; refresh with UPDATE_SNAPSHOTS=1.\n{}",
        catalog.declarations(all)
    )
}

#[test]
fn generated_declarations_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for (file, namespace) in FIXTURES {
        let generated = declarations(file, namespace);
        let golden_path = tests_dir()
            .join("typescript")
            .join(format!("{namespace}.d.ts"));
        if update {
            std::fs::write(&golden_path, &generated).unwrap();
        } else if std::fs::read_to_string(&golden_path).ok().as_deref() != Some(generated.as_str())
        {
            stale.push(golden_path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (UPDATE_SNAPSHOTS=1 to refresh after checking): {stale:?}"
    );
}

#[test]
fn every_tool_of_every_fixture_is_declared_once() {
    for (file, namespace) in FIXTURES {
        let text = declarations(file, namespace);
        let tools = load_tools(file);
        assert_eq!(text.matches("  function ").count(), tools.len(), "{file}");
        for tool in &tools {
            assert!(
                text.contains(&format!("@mcpTool {}\n", tool.name)),
                "{file}: {}",
                tool.name
            );
        }
    }
}
