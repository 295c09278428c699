//! The house's rules, read from `src/`: imports only run down the layers below, and no files
//! import each other in a circle. docs/architecture.md draws the same order.
//!
//! Every `crate::…`, `super::…` and `self::…` path in a file's code (comments aside) is an
//! import of the module it names. A folder (a top-level module) may import only from its own
//! layer or those below it; test-only modules may use any. Between files, an import of a module's own parent (a child using
//! what its `mod.rs` defines) is how a module is built, not an arrow; every other import is, and
//! those arrows must not form a cycle.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules, lowest first; a module may import from its own layer and below.
const LAYERS: &[&[&str]] = &[
    &["protocol", "names", "json_size", "cold", "digest", "quote"],
    &["redact", "config", "session"],
    &["upstream"],
    &["sandbox"],
    &["codemode"],
    &["mcp"],
    &["audit"],
    &["metrics"],
    &["execution"],
    &["admin", "admission", "signin"],
    &["runner"],
    &["shell"],
];

/// Modules compiled for tests only; they may use any layer, as a test does.
const TEST_MODULES: &[&str] = &["tests", "testing", "fake"];

/// A module path, such as `["upstream", "session"]`.
type ModulePath = Vec<String>;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module a file defines: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
fn module_of(src: &Path, file: &Path) -> ModulePath {
    let relative = file.strip_prefix(src).expect("under src/");
    let mut parts: ModulePath = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments (doc links name modules but import nothing).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths `code` refers to, resolved from the module `here`; `use` groups such as
/// `crate::a::{b, c::d}` count as `crate::a`.
fn imports(code: &str, here: &ModulePath) -> Vec<ModulePath> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !code.is_char_boundary(at) {
            at += 1;
            continue;
        }
        let starts_word =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let rest = &code[at..];
        let root = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|root| starts_word && rest.starts_with(root));
        let Some(root) = root else {
            at += 1;
            continue;
        };
        let segments: Vec<&str> = rest
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        at += segments.iter().map(|s| s.len() + 2).sum::<usize>().max(1);
        let mut base: ModulePath = match root {
            "crate::" => Vec::new(),
            _ => here.clone(),
        };
        let mut path = segments.into_iter().skip(1).peekable();
        if root == "super::" {
            base.pop();
            while path.peek() == Some(&"super") {
                path.next();
                base.pop();
            }
        }
        base.extend(path.map(str::to_owned));
        found.push(base);
    }
    found
}

/// The longest prefix of `path` that is a module with a file of its own.
fn file_module(path: &ModulePath, modules: &BTreeSet<ModulePath>) -> Option<ModulePath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
}

struct House {
    /// Module → the modules (with files) it imports, parents excepted.
    arrows: BTreeMap<ModulePath, BTreeSet<ModulePath>>,
}

fn house() -> House {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<ModulePath> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut arrows = BTreeMap::new();
    for file in &files {
        let here = module_of(&src, file);
        let text = fs::read_to_string(file).expect("a source file is readable");
        let targets: BTreeSet<ModulePath> = imports(&code(&text), &here)
            .iter()
            .filter_map(|path| file_module(path, &modules))
            .filter(|target| *target != here && !here.starts_with(target))
            .collect();
        arrows.insert(here, targets);
    }
    House { arrows }
}

fn name(path: &ModulePath) -> String {
    if path.is_empty() {
        "crate".to_owned()
    } else {
        path.join("::")
    }
}

#[test]
fn every_top_level_module_has_a_layer() {
    let unplaced: Vec<String> = house()
        .arrows
        .keys()
        .filter_map(|m| m.first())
        .filter(|top| layer_of(top).is_none() && !TEST_MODULES.contains(&top.as_str()))
        .map(String::clone)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(unplaced.is_empty(), "add to LAYERS: {unplaced:?}");
}

#[test]
fn imports_only_run_down_the_layers() {
    let mut upward = Vec::new();
    for (from, targets) in &house().arrows {
        let Some(from_layer) = from.first().and_then(|m| layer_of(m)) else {
            continue;
        };
        if from
            .last()
            .is_some_and(|m| TEST_MODULES.contains(&m.as_str()))
        {
            continue;
        }
        for to in targets {
            let Some(to_layer) = to.first().and_then(|m| layer_of(m)) else {
                continue;
            };
            if to_layer > from_layer {
                upward.push(format!("{} → {}", name(from), name(to)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let house = house();
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit(
        at: &ModulePath,
        house: &House,
        path: &mut Vec<ModulePath>,
        done: &mut BTreeSet<ModulePath>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(start) = path.iter().position(|m| m == at) {
            let mut cycle: Vec<String> = path[start..].iter().map(name).collect();
            cycle.push(name(at));
            cycles.push(cycle.join(" → "));
            return;
        }
        if !done.insert(at.clone()) {
            return;
        }
        path.push(at.clone());
        for next in house.arrows.get(at).into_iter().flatten() {
            visit(next, house, path, done, cycles);
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for module in house.arrows.keys() {
        visit(module, &house, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_reader_resolves_each_kind_of_path() {
    let here = vec![
        "upstream".to_owned(),
        "session".to_owned(),
        "legacy".to_owned(),
    ];
    let source =
        "use super::streamable::read;\nuse crate::config::{A, B};\nlet x = self::helper();";
    assert_eq!(
        imports(source, &here),
        vec![
            vec!["upstream", "session", "streamable", "read"],
            vec!["config"],
            vec!["upstream", "session", "legacy", "helper"],
        ]
        .into_iter()
        .map(|p| p.into_iter().map(str::to_owned).collect::<ModulePath>())
        .collect::<Vec<_>>()
    );
    assert_eq!(
        code("let a = 1; // crate::x\n/// [`crate::y`]"),
        "let a = 1; \n"
    );
}
