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
//! `WebAssembly`, `with`, and `import()`, since there is no network and no module besides the
//! program) are refused here with their position, and so are the runner's own names; the
//! `forbidden` module finds them. The isolate stays the security boundary for all but
//! `import()`, which only this check can refuse; this is so the model gets a clear error it can
//! act on, before anything runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use swc_common::errors::{DiagnosticBuilder, Emitter, Handler};
use swc_common::{sync::Lrc, BytePos, FileName, SourceMap, Spanned};
use swc_ecma_ast::{DefaultDecl, EsVersion, Expr, ModuleDecl, ModuleItem, Stmt};
use swc_ecma_parser::input::Tokens;
use swc_ecma_parser::unstable::{Capturing, Token, TokenValue};
use swc_ecma_parser::{Lexer, Parser, StringInput, Syntax, TsSyntax};
use swc_ts_fast_strip::{operate, Mode, Options};

use super::forbidden::{first_forbidden, unparenthesized};
use super::loop_guard::{self, ColumnShifts, Insertion};
use super::references::first_unknown;
use crate::names::CONSOLE;
use crate::quote::cut;
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
    /// A function its namespace does not have.
    #[error("UnknownFunction at {location}: {message}")]
    UnknownFunction {
        /// Which, and the nearest real one.
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
    /// Every name a refusal is reported under, in the order of the variants.
    pub const NAMES: [&'static str; 5] = [
        "CodeTooLarge",
        "SyntaxError",
        "NotAllowed",
        "UnknownFunction",
        "UnsupportedSyntax",
    ];

    /// The error name a refusal is reported under (`CodeTooLarge`, `SyntaxError`, …).
    pub fn name(&self) -> &'static str {
        Self::NAMES[match self {
            SourceError::TooLarge { .. } => 0,
            SourceError::Syntax { .. } => 1,
            SourceError::NotAllowed { .. } => 2,
            SourceError::UnknownFunction { .. } => 3,
            SourceError::Unsupported { .. } => 4,
        }]
    }

    /// Where in the user's code the problem is, if it has a place.
    pub fn location(&self) -> Option<Location> {
        match self {
            SourceError::TooLarge { .. } => None,
            SourceError::Syntax { location, .. }
            | SourceError::NotAllowed { location, .. }
            | SourceError::UnknownFunction { location, .. }
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
    /// The user's code, as it was given (a Markdown fence blanked).
    source: String,
    /// The namespaces it was given.
    namespaces: Vec<String>,
}

/// Characters of a line of the user's code an error quotes.
const QUOTED_LINE_CHARS: usize = 200;

impl Program {
    /// The namespaces the program was given.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespaces.iter().map(String::as_str)
    }

    /// Line `line` (1-based) of the user's code, trimmed and cut to a readable length.
    pub fn line(&self, line: u32) -> Option<String> {
        let text = self
            .source
            .lines()
            .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let text = text.trim();
        Some(cut(text, QUOTED_LINE_CHARS))
    }

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

/// Turns `code` into the program the isolate loads, whose wrapper function takes `console` and
/// each of `namespaces` (namespace → its functions' names); a reference to a function a
/// namespace does not have is refused, naming the nearest.
pub fn prepare(
    code: &str,
    namespaces: &BTreeMap<String, Vec<String>>,
    limits: &ExecutionLimits,
) -> Result<Program, SourceError> {
    if code.len() > limits.max_code_bytes {
        return Err(SourceError::TooLarge {
            bytes: code.len(),
            limit: limits.max_code_bytes,
        });
    }
    let source = unfence(code);
    let code = source.clone();
    let user_lines = u32::try_from(code.lines().count().max(1)).unwrap_or(u32::MAX);
    let bindings: Vec<&str> = std::iter::once(CONSOLE)
        .chain(namespaces.keys().map(String::as_str))
        .collect();
    let head = format!("export default async function ({}) {{", bindings.join(", "));
    let (shape, steps) = shape_of(&head, &code, user_lines, namespaces)?;
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
    Ok(Program {
        module,
        shifts,
        source,
        namespaces: namespaces.keys().cloned().collect(),
    })
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

/// A template literal that swc's parser (47) panics on, with the error it is: one whose first
/// piece holds an invalid escape, after a unary operator and a line break (`!⏎`\u``). The
/// parser loses the template's value there and reaches `unreachable!`, and in wasm a panic
/// aborts the Worker's instance with every request in it. After a unary operator a template
/// cannot be tagged, and an untagged template cannot hold an invalid escape, so refusing
/// every such template is exactly the syntax error; only the lexer runs.
fn template_swc_cannot_parse(
    syntax: Syntax,
    file: &swc_common::SourceFile,
) -> Option<(BytePos, String)> {
    let mut lexer = Lexer::new(syntax, EsVersion::latest(), StringInput::from(file), None);
    let mut after_unary = false;
    while let Some(next) = lexer.next() {
        let template = matches!(
            next.token,
            Token::NoSubstitutionTemplateLiteral | Token::TemplateHead
        );
        if let (true, true, Some(TokenValue::Template(Err(error)))) =
            (template, after_unary, lexer.get_token_value())
        {
            return Some((next.span.lo, error.kind().msg().into_owned()));
        }
        after_unary = next.token.needs_unary_expr_prefix_parse();
    }
    None
}

/// How the code is to be called, and where its loops and functions need a step check.
fn shape_of(
    head: &str,
    code: &str,
    user_lines: u32,
    namespaces: &BTreeMap<String, Vec<String>>,
) -> Result<(Shape, Vec<Insertion>), SourceError> {
    let cm: Lrc<SourceMap> = Default::default();
    let file = cm.new_source_file(FileName::Anon.into(), wrap(head, "", code));
    let code_start = file.start_pos + BytePos(u32::try_from(head.len() + 1).unwrap_or(u32::MAX));
    let syntax = Syntax::Typescript(TsSyntax::default());
    if let Some((position, message)) = template_swc_cannot_parse(syntax, &file) {
        return Err(SourceError::Syntax {
            message,
            location: user_location(&cm, position, user_lines),
        });
    }
    // The lexer `swc_ts_fast_strip` parses with, so that the wasm holds, and V8 compiles again
    // for each execution, one copy of the parser rather than two (the parser is generic over
    // its lexer).
    let lexer = Lexer::new(syntax, EsVersion::latest(), StringInput::from(&*file), None);
    let mut parser = Parser::new_from(Capturing::new(lexer));
    let parsed = parser.parse_module();
    let module = match (parsed, parser.take_errors().into_iter().next()) {
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
    if let Some((position, message)) = first_forbidden(function) {
        return Err(SourceError::NotAllowed {
            message: message.to_owned(),
            location: user_location(&cm, position, user_lines),
        });
    }
    let body = function.function.body.as_ref();
    if let Some((position, message)) = body.and_then(|body| first_unknown(body, namespaces)) {
        return Err(SourceError::UnknownFunction {
            message,
            location: user_location(&cm, position, user_lines),
        });
    }
    let statements = body.map_or(&[][..], |b| &b.stmts[..]);
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
mod tests;
