//! The constructs the sandbox cannot run, found before anything runs: `eval`, the `Function`
//! constructor however it is reached, `WebAssembly`, `with`, `import()`, and the runner's own
//! names ([`RESERVED_PREFIX`]). The isolate stays the boundary for the rest; this is so the
//! model gets a clear error it can act on.
//!
//! For `import()` this check is the boundary itself. A module can only be loaded by that
//! syntax, code built from strings cannot run in the isolate, and the program needs no module:
//! so refusing every `import()` here keeps the runtime's own modules (`cloudflare:workers`,
//! `cloudflare:sockets`, ...) and whatever they may offer in production out of the program's
//! reach.

use swc_common::{BytePos, Spanned};
use swc_ecma_ast::{
    CallExpr, Callee, Expr, FnExpr, Ident, MemberExpr, MemberProp, NewExpr, WithStmt,
};
use swc_ecma_visit::{Visit, VisitWith};

use super::loop_guard::RESERVED_PREFIX;

const NO_CODE_FROM_STRINGS: &str =
    "the sandbox cannot run code built from strings; write the code \
directly";

/// The first construct in `function` that the sandbox does not offer: its position and why.
pub(super) fn first_forbidden(function: &FnExpr) -> Option<(BytePos, String)> {
    let mut forbidden = Forbidden::default();
    function.visit_with(&mut forbidden);
    forbidden.found
}

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
            Callee::Import(_) => self.flag(
                call.span.lo,
                "`import()` cannot load modules here: the sandbox has no network and no module \
                 besides your program, the runtime's own `cloudflare:` modules included; call \
                 upstream functions through their namespaces"
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

fn is_ident(expr: &Expr, name: &str) -> bool {
    matches!(unparenthesized(expr), Expr::Ident(ident) if ident.sym == *name)
}

/// `expr` without the parentheses around it.
pub(super) fn unparenthesized(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => unparenthesized(&inner.expr),
        other => other,
    }
}
