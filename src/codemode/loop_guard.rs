//! The counted loop guard: a step check at the top of every loop body and every function body
//! of the user's program, so that a program that never stops (`while (true) {}`, unbounded
//! recursion through a catch) ends with a clear error after a fixed number of steps.
//!
//! It counts instead of timing because neither clock works: local workerd enforces no CPU
//! limit, and one synchronous loop stalls every request of the runtime, so the runner's timer
//! never fires; in production `Date.now()` stands still during synchronous code. A count ends
//! the loop the same way in both.
//!
//! The checks are text inserted at positions the parser found, never a newline, so each line
//! keeps its number. The step function and its counter are declared by [`prelude`] at module
//! scope, before the program's function; the user's code may not name anything starting with
//! [`RESERVED_PREFIX`], so it can neither shadow, reassign nor call them.

use swc_common::{BytePos, Spanned};
use swc_ecma_ast::{
    ArrowExpr, ArrowFunctionBody, DoWhileStmt, Expr, ForInStmt, ForOfStmt, ForStmt, FunctionBody,
    Stmt, WhileStmt,
};
use swc_ecma_visit::{Visit, VisitWith};

/// Identifiers the runner declares in the program's module; user code may not use the prefix.
pub const RESERVED_PREFIX: &str = "__mir";

/// The error name a program sees when it runs out of steps.
pub const LOOP_LIMIT_ERROR: &str = "LoopLimitExceeded";

/// The program module's export that says whether the step budget ran out.
pub const LOOP_LIMIT_HIT: &str = "__mirLoopLimitHit";

const STEP: &str = "__mirStep();";
const STEP_THEN: &str = "(__mirStep(), ";

/// Declarations that go on the module's first line, ahead of the program's function: the step
/// budget and the function that spends it. Past the budget every step throws, so a program
/// that catches the error still cannot loop on. The module also exports [`LOOP_LIMIT_HIT`],
/// which tells the harness whether the budget ran out, whatever error the program ended with.
pub fn prelude(budget: u64) -> String {
    format!(
        "let __mirSteps = {budget}; let __mirSpent = false; const __mirError = Error; \
         const __mirDefine = Object.defineProperty; \
         export const {LOOP_LIMIT_HIT} = () => __mirSpent; \
         const __mirStep = () => {{ if (--__mirSteps < 0) {{ __mirSteps = 0; __mirSpent = true; \
         const e = new __mirError(\"the program ran more than {budget} loop iterations and \
         function calls (the runner's maxLoopIterations limit); it may never stop, or need less \
         work per execution\"); __mirDefine(e, \"name\", {{ __proto__: null, value: \"{LOOP_LIMIT_ERROR}\" }}); \
         throw e; }} }};"
    )
}

/// One piece of text to insert into the user's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insertion {
    /// Byte offset in the user's code.
    at: usize,
    text: &'static str,
    /// Whether it closes what an earlier insertion opened.
    closes: bool,
    /// Visit order: inner constructs come later.
    order: usize,
}

/// Where `node`'s loops and functions need a step check; positions are made relative to
/// `code_start`, where the user's code begins in the parsed text.
pub fn insertions<N: VisitWith<Finder>>(node: &N, code_start: BytePos) -> Vec<Insertion> {
    let mut finder = Finder {
        code_start,
        found: Vec::new(),
    };
    node.visit_with(&mut finder);
    finder.found
}

/// `code` with the insertions made, and where they went. At one offset, closings come before
/// openings; of several closings the inner one comes first, of several openings the outer one.
pub fn apply(code: &str, mut insertions: Vec<Insertion>) -> (String, ColumnShifts) {
    insertions.sort_by_key(|i| {
        let nesting = if i.closes {
            usize::MAX - i.order
        } else {
            i.order
        };
        (i.at, !i.closes, nesting)
    });
    let extra: usize = insertions.iter().map(|i| i.text.len()).sum();
    let mut guarded = String::with_capacity(code.len() + extra);
    let mut shifts = Vec::with_capacity(insertions.len());
    let mut copied = 0;
    let mut line = 1u32;
    // The column of `copied`, counted on from the last insertion on the same line, so a
    // program of many insertions on one line costs its length once, not once per insertion.
    let mut column = 0;
    for insertion in insertions {
        let at = insertion.at.min(code.len());
        let copying = &code[copied..at];
        let mut line_start = 0;
        for (offset, _) in copying.match_indices('\n') {
            line += 1;
            line_start = offset + 1;
            column = 0;
        }
        column += copying[line_start..].chars().count();
        guarded.push_str(copying);
        guarded.push_str(insertion.text);
        shifts.push(Shift {
            line,
            column,
            len: insertion.text.len(),
        });
        copied = at;
    }
    guarded.push_str(&code[copied..]);
    (guarded, ColumnShifts(shifts))
}

/// Where [`apply`] inserted text, so that a column in the guarded code (from a runtime stack)
/// can be mapped back to the user's own column. Lines never move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnShifts(Vec<Shift>);

/// One insertion: before 0-based `column` (in characters) of 1-based `line`, `len` characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shift {
    line: u32,
    column: usize,
    len: usize,
}

impl ColumnShifts {
    /// The user's 1-based column for 1-based `column` of `line` in the guarded code; a column
    /// inside inserted text maps to where the text was inserted.
    pub fn original_column(&self, line: u32, column: u32) -> u32 {
        let at = column.saturating_sub(1) as usize;
        let mut inserted = 0;
        for shift in self.0.iter().filter(|s| s.line == line) {
            let start = shift.column + inserted;
            if at < start {
                break;
            }
            if at < start + shift.len {
                return u32::try_from(shift.column + 1).unwrap_or(u32::MAX);
            }
            inserted += shift.len;
        }
        u32::try_from(at - inserted + 1).unwrap_or(u32::MAX)
    }
}

/// Collects the insertions for one program.
pub struct Finder {
    code_start: BytePos,
    found: Vec<Insertion>,
}

impl Finder {
    fn insert(&mut self, position: BytePos, text: &'static str, closes: bool) {
        // Positions before the user's code belong to the wrapper, which needs no check.
        if let Some(at) = position.0.checked_sub(self.code_start.0) {
            let order = self.found.len();
            self.found.push(Insertion {
                at: at as usize,
                text,
                closes,
                order,
            });
        }
    }

    /// A step check before each run of a loop's body, bracing a body that has no braces.
    fn loop_body(&mut self, body: &Stmt) {
        match body {
            Stmt::Block(block) => self.insert(block.span.lo + BytePos(1), STEP, false),
            other => {
                let span = other.span();
                self.insert(span.lo, "{", false);
                self.insert(span.lo, STEP, false);
                self.insert(span.hi, "}", true);
            }
        }
    }

    /// A step check evaluated before an arrow function's expression body.
    fn expression_body(&mut self, body: &Expr) {
        let span = body.span();
        self.insert(span.lo, STEP_THEN, false);
        self.insert(span.hi, ")", true);
    }
}

impl Visit for Finder {
    fn visit_for_stmt(&mut self, node: &ForStmt) {
        self.loop_body(&node.body);
        node.visit_children_with(self);
    }

    fn visit_for_in_stmt(&mut self, node: &ForInStmt) {
        self.loop_body(&node.body);
        node.visit_children_with(self);
    }

    fn visit_for_of_stmt(&mut self, node: &ForOfStmt) {
        self.loop_body(&node.body);
        node.visit_children_with(self);
    }

    fn visit_while_stmt(&mut self, node: &WhileStmt) {
        self.loop_body(&node.body);
        node.visit_children_with(self);
    }

    fn visit_do_while_stmt(&mut self, node: &DoWhileStmt) {
        self.loop_body(&node.body);
        node.visit_children_with(self);
    }

    /// Functions, methods, accessors, constructors and arrow functions with a block.
    fn visit_function_body(&mut self, node: &FunctionBody) {
        self.insert(node.span.lo + BytePos(1), STEP, false);
        node.visit_children_with(self);
    }

    fn visit_arrow_expr(&mut self, node: &ArrowExpr) {
        if let ArrowFunctionBody::Expr(expr) = &*node.body {
            self.expression_body(expr);
        }
        node.visit_children_with(self);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use swc_common::{sync::Lrc, FileName, SourceMap};
    use swc_ecma_ast::{EsVersion, Module};
    use swc_ecma_parser::{parse_file_as_module, Syntax};

    use super::*;

    fn parse(code: &str) -> (Module, BytePos) {
        let cm: Lrc<SourceMap> = Default::default();
        let file = cm.new_source_file(FileName::Anon.into(), code.to_owned());
        let module = parse_file_as_module(
            &file,
            Syntax::Es(Default::default()),
            EsVersion::latest(),
            None,
            &mut Vec::new(),
        )
        .unwrap_or_else(|e| panic!("{code}\n{:?}", e.kind()));
        (module, file.start_pos)
    }

    /// `code` with its step checks, checked to still parse.
    fn guarded(code: &str) -> String {
        let (module, start) = parse(code);
        let (guarded, _) = apply(code, insertions(&module, start));
        parse(&guarded);
        guarded
    }

    #[test]
    fn every_kind_of_loop_checks_a_step_each_time_round() {
        assert_eq!(guarded("while (true) {}"), "while (true) {__mirStep();}");
        assert_eq!(
            guarded("do { n++ } while (n < 3)"),
            "do {__mirStep(); n++ } while (n < 3)"
        );
        assert_eq!(
            guarded("for (const k in o) { f(k) }"),
            "for (const k in o) {__mirStep(); f(k) }"
        );
        assert_eq!(
            guarded("for await (const x of xs) {}"),
            "for await (const x of xs) {__mirStep();}"
        );
    }

    #[test]
    fn a_body_without_braces_is_braced() {
        assert_eq!(guarded("for (;;) n++;"), "for (;;) {__mirStep();n++;}");
        assert_eq!(guarded("for (;;);"), "for (;;){__mirStep();;}");
        assert_eq!(
            guarded("while (a) while (b) c();"),
            "while (a) {__mirStep();while (b) {__mirStep();c();}}"
        );
        assert_eq!(
            guarded("outer: for (;;) if (x) continue outer; else break"),
            "outer: for (;;) {__mirStep();if (x) continue outer; else break}"
        );
    }

    #[test]
    fn every_kind_of_function_checks_a_step_on_entry() {
        assert_eq!(
            guarded("function f() { return 1 }"),
            "function f() {__mirStep(); return 1 }"
        );
        assert_eq!(
            guarded("class A extends B { constructor() { super() } get x() { return 1 } }"),
            "class A extends B { constructor() {__mirStep(); super() } get x() {__mirStep(); return 1 } }"
        );
        assert_eq!(
            guarded("const o = { m() {}, set v(x) {} }"),
            "const o = { m() {__mirStep();}, set v(x) {__mirStep();} }"
        );
        assert_eq!(
            guarded("const g = async () => { await h() }"),
            "const g = async () => {__mirStep(); await h() }"
        );
    }

    #[test]
    fn an_arrow_with_an_expression_body_checks_before_it() {
        assert_eq!(
            guarded("xs.map(x => x * 2)"),
            "xs.map(x => (__mirStep(), x * 2))"
        );
        assert_eq!(
            guarded("const f = a => b => ({ a, b })"),
            "const f = a => (__mirStep(), b => (__mirStep(), ({ a, b })))"
        );
        assert_eq!(
            guarded("for (;;) () => 1"),
            "for (;;) {__mirStep();() => (__mirStep(), 1)}"
        );
    }

    #[test]
    fn no_line_moves() {
        let code = "let n = 0\nwhile (n < 3)\n  n++\nconst f = () =>\n  n\nfunction g() {\n}\n";
        let guarded = guarded(code);
        assert_eq!(guarded.lines().count(), code.lines().count());
        for (before, after) in code.lines().zip(guarded.lines()) {
            assert!(
                after
                    .replace("__mirStep();", "")
                    .replace("(__mirStep(), ", "(")
                    .len()
                    >= before.len(),
                "{before:?} became {after:?}"
            );
        }
    }

    #[test]
    fn columns_in_guarded_code_map_back_to_the_users() {
        let code = "let n = 0;\nwhile (n < 3) n++; const f = (x) => x.y;";
        let (module, start) = parse(code);
        let (guarded, shifts) = apply(code, insertions(&module, start));
        let second = guarded.lines().nth(1).unwrap();
        let original = code.lines().nth(1).unwrap();
        for token in ["n++", "const", "x.y"] {
            let generated = u32::try_from(second.find(token).unwrap() + 1).unwrap();
            let expected = u32::try_from(original.find(token).unwrap() + 1).unwrap();
            assert_eq!(shifts.original_column(2, generated), expected, "{token}");
        }
        let inside = u32::try_from(second.find("__mirStep").unwrap() + 3).unwrap();
        let braced = u32::try_from(original.find("n++").unwrap() + 1).unwrap();
        assert_eq!(shifts.original_column(2, inside), braced);
        assert_eq!(shifts.original_column(1, 5), 5);
    }

    #[test]
    fn columns_count_characters_from_their_lines_start_past_many_insertions() {
        let code = "const é = \"ü\";\n\nfor (const a of [1]) { const f = () => \"ß\", g = () => é; }\nwhile (false) { h(() => 1); }";
        let (module, start) = parse(code);
        let (guarded, shifts) = apply(code, insertions(&module, start));
        // A column in characters, 1-based, of `token` on 0-based line `index` of `text`.
        let column = |text: &str, index: usize, token: &str| {
            let line = text.lines().nth(index).unwrap();
            u32::try_from(line[..line.find(token).unwrap()].chars().count() + 1).unwrap()
        };
        for (index, token) in [(2, "g ="), (2, "\"ß\""), (3, "h("), (3, "false")] {
            let line = u32::try_from(index + 1).unwrap();
            assert_eq!(
                shifts.original_column(line, column(&guarded, index, token)),
                column(code, index, token),
                "{token}"
            );
        }
    }

    #[test]
    fn the_prelude_names_the_budget_and_the_error() {
        let prelude = prelude(500);
        assert!(prelude.starts_with("let __mirSteps = 500;"), "{prelude}");
        assert!(prelude.contains(LOOP_LIMIT_ERROR));
        assert!(!prelude.contains('\n'));
        parse(&prelude);
    }
}
