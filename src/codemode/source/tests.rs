//! Preparing programs: the shapes accepted, the constructs refused, and positions kept.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use std::collections::BTreeMap;

/// Namespace `everything`, whose functions are not checked (as for an unavailable upstream).
fn everything() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([("everything".to_owned(), Vec::new())])
}

fn prepared(code: &str) -> String {
    prepare(code, &everything(), &ExecutionLimits::default())
        .unwrap()
        .module
}

fn error(code: &str) -> SourceError {
    prepare(code, &BTreeMap::new(), &ExecutionLimits::default()).unwrap_err()
}

#[test]
fn a_body_with_await_and_return_is_wrapped_in_place() {
    let module = prepared("const r = await everything.echo({ message: 'x' });\nreturn r;");
    let lines: Vec<&str> = module.lines().collect();
    assert!(lines[0].ends_with("; export default async function (console, everything) {"));
    assert_eq!(
        lines[1..3],
        [
            "const r = await everything.echo({ message: 'x' });",
            "return r;"
        ]
    );
}

#[test]
fn types_are_erased_without_moving_code() {
    let module = prepared("const n: number = 40;\nreturn n + (2 as number);");
    let lines: Vec<&str> = module.lines().collect();
    assert_eq!(lines[1], "const n         = 40;");
    assert_eq!(lines[2], "return n + (2          );");
}

#[test]
fn an_async_arrow_is_bound_and_called() {
    let module = prepared("async () => {\n  return 42;\n};");
    assert!(module.contains(
        "export default async function (console, everything) { const __program =\nasync () => {__mirStep();"
    ));
    assert!(module.contains("return __program();"));
}

#[test]
fn loops_and_functions_get_step_checks_under_the_configured_budget() {
    let limits = ExecutionLimits {
        max_loop_iterations: 1234,
        ..ExecutionLimits::default()
    };
    let module = prepare(
        "while (true) {}\nconst f = (x: number) => x;",
        &BTreeMap::new(),
        &limits,
    )
    .unwrap()
    .module;
    let lines: Vec<&str> = module.lines().collect();
    assert!(
        lines[0].starts_with("let __mirSteps = 1234;"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "while (true) {__mirStep();}");
    assert_eq!(lines[2], "const f = (x        ) => (__mirStep(), x);");
}

#[test]
fn the_runners_reserved_names_cannot_be_used() {
    for code in [
        "__mirSteps = 1e12;",
        "const __mirStep = () => {};",
        "__mirStep();",
    ] {
        let err = error(code);
        assert!(
            err.to_string().contains("reserved for the runner"),
            "{code}: {err}"
        );
    }
}

#[test]
fn a_main_function_is_called_when_nothing_is_returned() {
    assert!(prepared("async function main() { return 1; }").contains("return main();"));
    assert!(
        !prepared("async function main() { return 1; }\nreturn main();")
            .contains(";return main();")
    );
}

#[test]
fn fenced_code_keeps_its_lines() {
    let module = prepared("```ts\nreturn 1;\n```");
    assert_eq!(module.lines().nth(2), Some("return 1;"));
}

#[test]
fn syntax_errors_point_at_the_users_line_and_column() {
    let err = error("const a = 1;\nconst b = ;");
    assert_eq!(
        err.location(),
        Some(Location {
            line: 2,
            column: 11
        })
    );
    assert!(
        err.to_string().starts_with("SyntaxError at 2:11: "),
        "{err}"
    );
}

#[test]
fn an_unclosed_block_is_reported_within_the_code() {
    let err = error("if (true) {\n  return 1;");
    assert!(err.location().unwrap().line <= 2, "{err}");
}

#[test]
fn closing_the_wrapper_is_rejected() {
    let err = error("return 1; }\nexport const leak = 1;\n{");
    assert!(matches!(err, SourceError::Syntax { .. }), "{err}");
}

#[test]
fn code_generation_and_webassembly_are_refused_with_their_position() {
    let cases = [
        ("const x = 1;\nreturn eval('x');", 2, 8, "`eval`"),
        (
            "return new Function('return 1')();",
            1,
            12,
            "`Function` constructor",
        ),
        (
            "return Function('return 1')();",
            1,
            8,
            "`Function` constructor",
        ),
        (
            "const make = (async () => {}).constructor;",
            1,
            14,
            "function constructor",
        ),
        (
            "const f = Function.prototype.constructor;",
            1,
            11,
            "function constructor",
        ),
        (
            "const m = await WebAssembly.compile(new Uint8Array());",
            1,
            17,
            "`WebAssembly`",
        ),
        (
            "const lodash = await import('lodash');",
            1,
            22,
            "`import()`",
        ),
        (
            "const m = await import('https://esm.sh/x');",
            1,
            17,
            "`import()`",
        ),
        (
            "const { env } = await import('cloudflare:workers');",
            1,
            23,
            "`cloudflare:` modules",
        ),
        (
            "const name = 'x';\nreturn import(name);",
            2,
            8,
            "`import()`",
        ),
    ];
    for (code, line, column, mentions) in cases {
        let err = error(code);
        assert!(
            matches!(err, SourceError::NotAllowed { .. }),
            "{code}: {err}"
        );
        assert_eq!(
            err.location(),
            Some(Location { line, column }),
            "{code}: {err}"
        );
        assert!(err.to_string().contains(mentions), "{code}: {err}");
    }
}

#[test]
fn ordinary_uses_of_similar_names_are_allowed() {
    for code in [
        "const o = { eval: 1, WebAssembly: 2 }; return o.eval + o.WebAssembly;",
        "class A {} return new A().constructor.name;",
        "return [1, 2].map((n) => n * 2);",
    ] {
        assert!(
            prepare(code, &BTreeMap::new(), &ExecutionLimits::default()).is_ok(),
            "{code}"
        );
    }
}

#[test]
fn import_and_export_declarations_are_syntax_errors_with_a_line() {
    for code in [
        "const a = 1;\nimport fs from 'node:fs';",
        "export const leak = 1;",
    ] {
        let err = error(code);
        assert!(matches!(err, SourceError::Syntax { .. }), "{code}: {err}");
        assert!(err.location().is_some(), "{code}: {err}");
    }
}

#[test]
fn enums_are_unsupported_with_a_location() {
    let err = error("const x = 1;\nenum Color { Red }");
    assert!(matches!(err, SourceError::Unsupported { .. }), "{err}");
    assert_eq!(err.location().map(|l| l.line), Some(2));
}

#[test]
fn oversized_code_is_refused_before_parsing() {
    let tiny = ExecutionLimits {
        max_code_bytes: 0,
        ..ExecutionLimits::default()
    };
    let err = prepare("x", &BTreeMap::new(), &tiny).unwrap_err();
    assert_eq!(err, SourceError::TooLarge { bytes: 1, limit: 0 });
}

#[test]
fn runtime_stack_positions_map_back_to_user_lines_and_columns() {
    let program = prepare(
        "let n = 0;\nwhile (n < 3) n++; throw new Error('boom');",
        &BTreeMap::new(),
        &ExecutionLimits::default(),
    )
    .unwrap();
    let generated = program.module.lines().nth(2).unwrap();
    let column = generated.find("new Error").unwrap() + 1;
    let stack = format!(
        "Error: boom\n    at default (program.js:3:{column})\n    at run (harness.js:30:5)"
    );
    assert_eq!(
        program.locate_in_stack(&stack),
        Some(Location {
            line: 2,
            column: 26
        })
    );
    assert_eq!(
        program.locate_in_stack("Error: boom\n    at harness.js:1:1"),
        None
    );
}

#[test]
fn a_loop_limit_error_points_at_the_loop_in_the_user_code_not_the_prelude() {
    let program = prepare(
        "let n = 0;\nwhile (true) { n++; }",
        &BTreeMap::new(),
        &ExecutionLimits::default(),
    )
    .unwrap();
    let generated = program.module.lines().nth(2).unwrap();
    let step = generated.find("__mirStep()").unwrap() + 1;
    let stack = format!(
        "LoopLimitExceeded: the program ran more\n    at __mirStep (program.js:1:130)\n    \
         at default (program.js:3:{step})\n    at run (harness.js:40:5)"
    );
    assert_eq!(
        program.locate_in_stack(&stack),
        Some(Location {
            line: 2,
            column: 15
        })
    );
}

#[test]
fn code_cannot_close_the_wrapper_to_run_at_module_level() {
    let escape = prepare(
        "}\nglobalThis.early = 1;\nexport function x() {",
        &BTreeMap::new(),
        &ExecutionLimits::default(),
    );
    assert!(escape.is_err(), "{:?}", escape.map(|p| p.module));
}

#[test]
fn type_arguments_after_a_string_before_an_open_template_are_a_syntax_error() {
    // Found by the parser fuzz test: swc's debug-only span check fails on it.
    let error = prepare(
        "\"s\"<T>class A { m() {} }<T>`${",
        &BTreeMap::new(),
        &ExecutionLimits::default(),
    )
    .unwrap_err();
    assert_eq!(error.name(), "SyntaxError");
}

/// Namespaces whose functions are checked.
fn tracker() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        (
            "tracker".to_owned(),
            vec!["search_issues".to_owned(), "get_issue".to_owned()],
        ),
        ("down".to_owned(), Vec::new()),
    ])
}

fn refusal(code: &str) -> SourceError {
    prepare(code, &tracker(), &ExecutionLimits::default()).unwrap_err()
}

#[test]
fn a_function_a_namespace_lacks_is_refused_naming_the_nearest() {
    let error = refusal("const a = 1;\nconst r = await tracker.search_issue({ query: 'x' });");
    assert_eq!(error.name(), "UnknownFunction");
    assert_eq!(
        error.to_string(),
        "UnknownFunction at 2:17: `tracker.search_issue` is not a function; did you mean \
         `tracker.search_issues`?"
    );
    let far = refusal("await tracker['delete_everything']();");
    assert!(
        far.to_string()
            .contains("tracker has search_issues, get_issue. Use `search`"),
        "{far}"
    );
}

#[test]
fn known_functions_unavailable_namespaces_and_shadowed_names_are_not_refused() {
    for code in [
        "return await tracker.search_issues({ query: 'x' });",
        "return await tracker.get_issue({ number: 1 });",
        "return await down.anything();",
        "return typeof tracker.search_issue;",
        "const tracker = { other: () => 1 };\nreturn tracker.other();",
        "function f(tracker: any) { return tracker.other(); }\nreturn f({ other: () => 1 });",
        "const name = 'get_issue';\nreturn await (tracker as any)[name]({ number: 1 });",
    ] {
        assert!(
            prepare(code, &tracker(), &ExecutionLimits::default()).is_ok(),
            "{code}"
        );
    }
}

#[test]
fn a_line_of_the_code_is_quoted_trimmed_and_cut() {
    let long = format!("  const x = \"{}\";", "y".repeat(500));
    let program = prepare(
        &format!("let a = 1;\n{long}\nreturn a;"),
        &tracker(),
        &ExecutionLimits::default(),
    )
    .unwrap();
    assert_eq!(program.line(1).as_deref(), Some("let a = 1;"));
    let quoted = program.line(2).unwrap();
    assert!(
        quoted.starts_with("const x = \"yyy") && quoted.ends_with('…'),
        "{quoted}"
    );
    assert_eq!(program.line(9), None);
    assert_eq!(
        program.namespaces().collect::<Vec<_>>(),
        ["down", "tracker"]
    );
}

#[test]
fn a_template_with_a_bad_escape_after_a_unary_operator_and_a_line_break_is_a_syntax_error() {
    // swc's parser panics on these; each is refused with the escape's error, on line 2.
    for code in [
        "!\n`\\u`",
        "!\r`\\u`",
        "-\n`\\u${1}`",
        "typeof\n`\\x`",
        "!/*\n*/`\\u`",
        "!\n\n`\\1`",
    ] {
        let refused = prepare(code, &BTreeMap::new(), &ExecutionLimits::default()).unwrap_err();
        let SourceError::Syntax { message, .. } = &refused else {
            panic!("{code:?}: {refused:?}");
        };
        assert!(message.contains("escape"), "{code:?}: {message}");
    }
    // A tagged template may hold one, and an unbroken line is left to the parser.
    assert!(prepare(
        "String.raw\n`\\u`",
        &BTreeMap::new(),
        &ExecutionLimits::default()
    )
    .is_ok());
    assert!(prepare(
        "return !`a`;",
        &BTreeMap::new(),
        &ExecutionLimits::default()
    )
    .is_ok());
}
