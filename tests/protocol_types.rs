//! The contract between the runner and the harness, as TypeScript: `worker-template/protocol.d.ts`
//! is generated from the Rust types that cross into the isolate (the run request, the outcome,
//! a bridge reply) with the runner's own schema → TypeScript renderer, and `make test` checks
//! `harness.js` against it with `tsc --checkJs`. This test fails when the Rust types changed and
//! the file was not regenerated; regenerate it with
//! `UPDATE_SNAPSHOTS=1 cargo test --test protocol_types`.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use mcp_isolate_runner::codemode::jsdoc::{doc_lines, jsdoc};
use mcp_isolate_runner::codemode::typescript::{type_of, TypeScope};
use mcp_isolate_runner::sandbox::program::RunRequest;
use mcp_isolate_runner::sandbox::protocol::{BridgeReply, Outcome, TEXT_REPLY_MARK};
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

/// Which way a type crosses: what the runner writes has every field it always writes; what it
/// reads has the fields the harness may leave out as optional.
#[derive(Clone, Copy)]
enum Direction {
    ToHarness,
    FromHarness,
}

/// `export type Name = …;` for `T`, with its doc comment; the types it refers to join `scope`.
fn export<T: JsonSchema>(name: &str, direction: Direction, scope: &mut TypeScope) -> String {
    let settings = SchemaSettings::draft2020_12();
    let settings = match direction {
        Direction::ToHarness => settings.for_serialize(),
        Direction::FromHarness => settings.for_deserialize(),
    };
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let schema = serde_json::to_value(schema).expect("a schema is JSON");
    let rendered = type_of(&schema, scope);
    format!(
        "{}export type {name} = {rendered};\n",
        jsdoc(&doc_lines(&schema), "")
    )
}

fn generated() -> String {
    let mut scope = TypeScope::default();
    let exported = [
        export::<RunRequest>("RunRequest", Direction::ToHarness, &mut scope),
        export::<Outcome>("Outcome", Direction::FromHarness, &mut scope),
        export::<BridgeReply>("BridgeReply", Direction::ToHarness, &mut scope),
    ];
    format!(
        "// The runner ⇄ harness contract, generated from src/sandbox/{{program,protocol}}.rs by\n\
         // tests/protocol_types.rs. Do not edit: regenerate with\n\
         // `UPDATE_SNAPSHOTS=1 cargo test --test protocol_types`.\n\n{}\n{}",
        exported.join("\n"),
        scope.declarations("")
    )
}

#[test]
fn the_harness_declarations_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("worker-template/protocol.d.ts");
    let expected = generated();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &expected).expect("protocol.d.ts is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "worker-template/protocol.d.ts is out of date with the Rust types; regenerate it with \
         `UPDATE_SNAPSHOTS=1 cargo test --test protocol_types`"
    );
}

#[test]
fn the_harness_reads_returned_strings_by_the_runners_mark() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("worker-template/harness.js");
    let harness = std::fs::read_to_string(path).expect("harness.js is readable");
    let declared = format!("const TEXT_REPLY_MARK = \"{TEXT_REPLY_MARK}\";");
    assert!(
        harness.contains(&declared),
        "harness.js must declare `{declared}`"
    );
}
