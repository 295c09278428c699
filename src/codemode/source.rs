//! Preparing the model's TypeScript for the isolate, with clear errors before any isolate runs.
//!
//! The code becomes the body of `export default async function (console, ns1, ns2, …)`, on
//! lines of its own, so top-level `await` and `return` work and every position in the user's
//! text keeps its line and column (shifted down by [`PROGRAM_LINE_OFFSET`] lines). Types are
//! erased by `swc_ts_fast_strip`, which replaces them with spaces, so positions survive that
//! too. Accepted shapes: a function body, a single `async () => {…}` expression (called), and a
//! body declaring `async function main()` without a top-level `return` (`main` is called).
//!
//! Constructs the sandbox cannot run (`eval`, the `Function` constructor however it is reached,
//! `WebAssembly`, `with`, and `import()` of anything but a `cloudflare:` built-in, since there is
//! no network and no module besides the program) are refused here with their position, and so
//! are the runner's own names ([`RESERVED_PREFIX`]). Built-in modules are left to the isolate,
//! whose `env` is empty and whose sockets have no route out. The isolate stays the security
//! boundary; this is so the model gets a clear error it can act on, before anything runs.

use std::sync::{Arc, Mutex};

use swc_common::errors::{DiagnosticBuilder, Emitter, Handler};
use swc_common::{sync::Lrc, BytePos, FileName, SourceMap, Spanned};
use swc_ecma_ast::{
    CallExpr, Callee, DefaultDecl, EsVersion, Expr, Ident, Lit, MemberExpr, MemberProp, ModuleDecl,
    ModuleItem, NewExpr, Stmt, WithStmt,
};
use swc_ecma_parser::{parse_file_as_module, Syntax, TsSyntax};
use swc_ecma_visit::{Visit, VisitWith};
use swc_ts_fast_strip::{operate, Mode, Options};

use super::loop_guard::{self, ColumnShifts, Insertion, RESERVED_PREFIX};
use crate::sandbox::limits::ExecutionLimits;
use crate::sandbox::program::PROGRAM_MODULE;

/// Lines the wrapper adds above the user's first line.
pub const PROGRAM_LINE_OFFSET: u32 = 1;
/// The name the wrapper binds a lone function expression to before calling it.
const PROGRAM_BINDING: &str = "__program";

/// A 1-based line and column in the user's original code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Code the runner refuses to load, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Over the size limit.
    #[error("the code is {bytes} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Not valid TypeScript.
    #[error("SyntaxError at {location}: {message}")]
    Syntax {
        /// What the parser expected.
        message: String,
        /// Where.
        location: Location,
    },
    /// Valid code that uses something the sandbox does not offer.
    #[error("NotAllowed at {location}: {message}")]
    NotAllowed {
        /// What is not available, and what to do instead.
        message: String,
        /// Where.
        location: Location,
    },
    /// Valid TypeScript the type stripper cannot erase (an `enum`, a `namespace`, …).
    #[error("UnsupportedSyntax at {location}: {message}")]
    Unsupported {
        /// What is not supported.
        message: String,
        /// Where.
        location: Location,
    },
}

impl SourceError {
    /// The error name a refusal is reported under (`CodeTooLarge`, `SyntaxError`, …).
    pub fn name(&self) -> &'static str {
        match self {
            SourceError::TooLarge { .. } => "CodeTooLarge",
            SourceError::Syntax { .. } => "SyntaxError",
            SourceError::NotAllowed { .. } => "NotAllowed",
            SourceError::Unsupported { .. } => "UnsupportedSyntax",
        }
    }

    /// Where in the user's code the problem is, if it has a place.
    pub fn location(&self) -> Option<Location> {
        match self {
            SourceError::TooLarge { .. } => None,
            SourceError::Syntax { location, .. }
            | SourceError::NotAllowed { location, .. }
            | SourceError::Unsupported { location, .. } => Some(*location),
        }
    }
}

/// How the user's code is turned into a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Statements, perhaps ending in `return`.
    Body,
    /// One function expression, which is called.
    FunctionExpression,
    /// Statements declaring `main`, which is called.
    MainFunction,
}

/// The user's program, ready for the isolate.
#[derive(Debug, Clone)]
pub struct Program {
    /// The ES module the isolate loads as [`PROGRAM_MODULE`].
    pub module: String,
    /// Where the loop guard moved columns, to map runtime positions back.
    pub shifts: ColumnShifts,
}

impl Program {
    /// Where a runtime error's stack points into the user's code, if it does: its innermost
    /// frame in the user's lines (frames in the runner's first line, such as the loop guard
    /// that threw, are skipped).
    pub fn locate_in_stack(&self, stack: &str) -> Option<Location> {
        let marker = format!("{PROGRAM_MODULE}:");
        stack.match_indices(&marker).find_map(|(at, _)| {
            let mut numbers = stack[at + marker.len()..].split(':').map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<u32>().ok()
            });
            let line = numbers.next()??.checked_sub(PROGRAM_LINE_OFFSET)?;
            let column = numbers.next()??;
            (line >= 1).then(|| Location {
                line,
                column: self.shifts.original_column(line, column),
            })
        })
    }
}

/// Turns `code` into the program the isolate loads; `bindings` are the parameter names of the
/// wrapper function (`console` and the namespaces).
pub fn prepare(
    code: &str,
    bindings: &[String],
    limits: &ExecutionLimits,
) -> Result<Program, SourceError> {
    if code.len() > limits.max_code_bytes {
        return Err(SourceError::TooLarge {
            bytes: code.len(),
            limit: limits.max_code_bytes,
        });
    }
    let code = unfence(code);
    let user_lines = u32::try_from(code.lines().count().max(1)).unwrap_or(u32::MAX);
    let head = format!("export default async function ({}) {{", bindings.join(", "));
    let (shape, steps) = shape_of(&head, &code, user_lines)?;
    let (code, shifts) = loop_guard::apply(&code, steps);
    let head = format!("{} {head}", loop_guard::prelude(limits.max_loop_iterations));
    let (head, tail) = match shape {
        Shape::Body => (head, String::new()),
        Shape::FunctionExpression => (
            format!("{head} const {PROGRAM_BINDING} ="),
            format!("return {PROGRAM_BINDING}();"),
        ),
        Shape::MainFunction => (head, "return main();".to_owned()),
    };
    let module = strip_types(wrap(&head, &tail, &code), user_lines)?;
    Ok(Program { module, shifts })
}

fn wrap(head: &str, tail: &str, code: &str) -> String {
    format!("{head}\n{code}\n;{tail}}}\n")
}

/// Blanks out a Markdown code fence around the code, keeping every line in place.
fn unfence(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    match (first, last) {
        (Some(first), Some(last))
            if first < last
                && lines[first].trim_start().starts_with("```")
                && lines[last].trim() == "```" =>
        {
            lines
                .iter()
                .enumerate()
                .map(|(i, line)| if i == first || i == last { "" } else { line })
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => code.to_owned(),
    }
}

/// How the code is to be called, and where its loops and functions need a step check.
fn shape_of(
    head: &str,
    code: &str,
    user_lines: u32,
) -> Result<(Shape, Vec<Insertion>), SourceError> {
    let cm: Lrc<SourceMap> = Default::default();
    let file = cm.new_source_file(FileName::Anon.into(), wrap(head, "", code));
    let code_start = file.start_pos + BytePos(u32::try_from(head.len() + 1).unwrap_or(u32::MAX));
    let mut recovered = Vec::new();
    let syntax = Syntax::Typescript(TsSyntax::default());
    let parsed = parse_file_as_module(&file, syntax, EsVersion::latest(), None, &mut recovered);
    let module = match (parsed, recovered.into_iter().next()) {
        (Err(error), _) | (Ok(_), Some(error)) => {
            return Err(SourceError::Syntax {
                message: error.kind().msg().into_owned(),
                location: user_location(&cm, error.span().lo, user_lines),
            })
        }
        (Ok(module), None) => module,
    };
    if let Some(stray) = module.body.get(1) {
        return Err(SourceError::Syntax {
            message: "this closes a block that the code did not open".into(),
            location: user_location(&cm, stray.span().lo, user_lines),
        });
    }
    let Some(ModuleItem::ModuleDecl(ModuleDecl::ExportDefaultDecl(export))) = module.body.first()
    else {
        unreachable_shape()?
    };
    let DefaultDecl::Fn(function) = &export.decl else {
        unreachable_shape()?
    };
    let mut forbidden = Forbidden::default();
    function.visit_with(&mut forbidden);
    if let Some((position, message)) = forbidden.found {
        return Err(SourceError::NotAllowed {
            message: message.to_owned(),
            location: user_location(&cm, position, user_lines),
        });
    }
    let statements = function
        .function
        .body
        .as_ref()
        .map_or(&[][..], |b| &b.stmts[..]);
    let steps = loop_guard::insertions(&function.function.body, code_start);
    let code_statements: Vec<&Stmt> = statements
        .iter()
        .filter(|s| !matches!(s, Stmt::Empty(_)))
        .collect();
    if let [Stmt::Expr(expression)] = code_statements.as_slice() {
        if matches!(
            unparenthesized(&expression.expr),
            Expr::Arrow(_) | Expr::Fn(_)
        ) {
            return Ok((Shape::FunctionExpression, steps));
        }
    }
    let declares_main = statements
        .iter()
        .any(|s| matches!(s, Stmt::Decl(swc_ecma_ast::Decl::Fn(f)) if f.ident.sym == *"main"));
    let returns = statements.iter().any(|s| matches!(s, Stmt::Return(_)));
    let shape = if declares_main && !returns {
        Shape::MainFunction
    } else {
        Shape::Body
    };
    Ok((shape, steps))
}

/// The wrapper always parses as one exported function; anything else is refused rather than
/// run without its step checks.
fn unreachable_shape<T>() -> Result<T, SourceError> {
    Err(SourceError::Syntax {
        message: "the code does not fit in a function body".into(),
        location: Location { line: 1, column: 1 },
    })
}

fn unparenthesized(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => unparenthesized(&inner.expr),
        other => other,
    }
}

fn strip_types(module_text: String, user_lines: u32) -> Result<String, SourceError> {
    let cm: Lrc<SourceMap> = Default::default();
    let diagnostics = Arc::new(Mutex::new(Vec::new()));
    let handler = Handler::with_emitter(false, false, Box::new(Collect(Arc::clone(&diagnostics))));
    let options = Options {
        module: Some(true),
        mode: Mode::StripOnly,
        ..Default::default()
    };
    match operate(&cm, &handler, module_text, options) {
        Ok(output) => Ok(output.code),
        Err(error) => {
            let first = diagnostics.lock().ok().and_then(|d| d.first().cloned());
            let (message, position) = first.unwrap_or((error.message, None));
            let location = position
                .map(|pos| user_location(&cm, pos, user_lines))
                .unwrap_or(Location { line: 1, column: 1 });
            Err(SourceError::Unsupported { message, location })
        }
    }
}

/// Maps a position in the wrapped module back to the user's code, clamped to its last line.
fn user_location(cm: &SourceMap, pos: BytePos, user_lines: u32) -> Location {
    let loc = cm.lookup_char_pos(pos);
    let line = u32::try_from(loc.line).unwrap_or(u32::MAX);
    let column = u32::try_from(loc.col.0)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    match line.checked_sub(PROGRAM_LINE_OFFSET) {
        Some(0) | None => Location { line: 1, column: 1 },
        Some(user_line) if user_line > user_lines => Location {
            line: user_lines,
            column: 1,
        },
        Some(user_line) => Location {
            line: user_line,
            column,
        },
    }
}

const NO_CODE_FROM_STRINGS: &str =
    "the sandbox cannot run code built from strings; write the code \
directly";

/// The first construct in the program that the sandbox does not offer.
#[derive(Default)]
struct Forbidden {
    found: Option<(BytePos, String)>,
}

impl Forbidden {
    fn flag(&mut self, position: BytePos, message: String) {
        self.found.get_or_insert((position, message));
    }

    fn check_function_constructor(&mut self, callee: &Expr) {
        if is_ident(callee, "Function") {
            let message =
                format!("the `Function` constructor is not available: {NO_CODE_FROM_STRINGS}");
            self.flag(callee.span().lo, message);
        }
    }
}

impl Visit for Forbidden {
    fn visit_ident(&mut self, ident: &Ident) {
        match &*ident.sym {
            "eval" => self.flag(
                ident.span.lo,
                format!("`eval` is not available: {NO_CODE_FROM_STRINGS}"),
            ),
            name if name.starts_with(RESERVED_PREFIX) => self.flag(
                ident.span.lo,
                format!("names starting with `{RESERVED_PREFIX}` are reserved for the runner; rename `{name}`"),
            ),
            "WebAssembly" => self.flag(
                ident.span.lo,
                "`WebAssembly` is not available in the sandbox; write the logic in TypeScript"
                    .into(),
            ),
            _ => {}
        }
    }

    fn visit_call_expr(&mut self, call: &CallExpr) {
        match &call.callee {
            Callee::Expr(callee) => self.check_function_constructor(callee),
            Callee::Import(_) if !imports_a_builtin(call) => self.flag(
                call.span.lo,
                "`import()` cannot load modules here: the sandbox has no network and no module \
                 besides your program; call upstream functions through their namespaces"
                    .into(),
            ),
            _ => {}
        }
        call.visit_children_with(self);
    }

    fn visit_new_expr(&mut self, new: &NewExpr) {
        self.check_function_constructor(&new.callee);
        new.visit_children_with(self);
    }

    fn visit_member_expr(&mut self, member: &MemberExpr) {
        let object = unparenthesized(&member.obj);
        let reaches_constructor = matches!(&member.prop, MemberProp::Ident(p) if p.sym == *"constructor")
            && matches!(object, Expr::Fn(_) | Expr::Arrow(_) | Expr::Class(_));
        if reaches_constructor || is_ident(object, "Function") {
            let message =
                format!("reaching a function constructor is not allowed: {NO_CODE_FROM_STRINGS}");
            self.flag(member.span.lo, message);
        }
        member.visit_children_with(self);
    }

    fn visit_with_stmt(&mut self, with: &WithStmt) {
        self.flag(
            with.span.lo,
            "`with` is not allowed; name the object instead".into(),
        );
        with.visit_children_with(self);
    }
}

/// Whether a dynamic import names a runtime built-in (`cloudflare:…`) as a string literal.
fn imports_a_builtin(call: &CallExpr) -> bool {
    call.args.first().is_some_and(
        |arg| matches!(&*arg.expr, Expr::Lit(Lit::Str(s)) if s.value.starts_with("cloudflare:")),
    )
}

fn is_ident(expr: &Expr, name: &str) -> bool {
    matches!(unparenthesized(expr), Expr::Ident(ident) if ident.sym == *name)
}

/// Collects swc diagnostics (message and primary position) instead of printing them.
struct Collect(Diagnostics);

/// Each diagnostic's message and primary position, shared with the emitter.
type Diagnostics = Arc<Mutex<Vec<(String, Option<BytePos>)>>>;

impl Emitter for Collect {
    fn emit(&mut self, diagnostic: &mut DiagnosticBuilder<'_>) {
        let position = diagnostic.span.primary_span().map(|span| span.lo);
        if let Ok(mut list) = self.0.lock() {
            list.push((diagnostic.message(), position));
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::names::CONSOLE;

    fn prepared(code: &str) -> String {
        let bindings = [CONSOLE.into(), "everything".into()];
        prepare(code, &bindings, &ExecutionLimits::default())
            .unwrap()
            .module
    }

    fn error(code: &str) -> SourceError {
        prepare(code, &[CONSOLE.into()], &ExecutionLimits::default()).unwrap_err()
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
        let module = prepare("while (true) {}\nconst f = (x: number) => x;", &[], &limits)
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
            "const { env } = await import('cloudflare:workers'); return Object.keys(env);",
        ] {
            assert!(
                prepare(code, &[CONSOLE.into()], &ExecutionLimits::default()).is_ok(),
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
        let err = prepare("x", &[], &tiny).unwrap_err();
        assert_eq!(err, SourceError::TooLarge { bytes: 1, limit: 0 });
    }

    #[test]
    fn runtime_stack_positions_map_back_to_user_lines_and_columns() {
        let program = prepare(
            "let n = 0;\nwhile (n < 3) n++; throw new Error('boom');",
            &[],
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
            &[],
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
            &[],
            &ExecutionLimits::default(),
        );
        assert!(escape.is_err(), "{:?}", escape.map(|p| p.module));
    }

    #[test]
    fn type_arguments_after_a_string_before_an_open_template_are_a_syntax_error() {
        // Found by the parser fuzz test: swc's debug-only span check fails on it.
        let error = prepare(
            "\"s\"<T>class A { m() {} }<T>`${",
            &[],
            &ExecutionLimits::default(),
        )
        .unwrap_err();
        assert_eq!(error.name(), "SyntaxError");
    }
}
