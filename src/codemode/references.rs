//! Calls of functions a namespace does not have (`github.search_issue(…)` where the function
//! is `search_issues`), found before the program runs, so the model is told the nearest real
//! name instead of a `TypeError` after its other calls were made.
//!
//! Only plain calls are checked: `namespace.name(…)` and `namespace["name"](…)`, where the
//! namespace is not a name the code declares itself; looking a name up (`typeof
//! namespace.name`) is left to run. A namespace with no functions (its upstream unavailable)
//! is not checked: calling it throws why it is unavailable.

use std::collections::{BTreeMap, HashSet};

use swc_common::BytePos;
use swc_ecma_ast::{
    BindingIdent, CallExpr, Callee, ClassDecl, Expr, FnDecl, FunctionBody, Lit, MemberExpr,
    MemberProp,
};
use swc_ecma_visit::{Visit, VisitWith};

use super::names::nearest;

/// How many of a namespace's functions an error lists when no name is near.
const LISTED: usize = 10;

/// The first reference in `body` to a function its namespace (in `namespaces`: namespace →
/// function names) does not have: where, and what to write instead.
pub(super) fn first_unknown(
    body: &FunctionBody,
    namespaces: &BTreeMap<String, Vec<String>>,
) -> Option<(BytePos, String)> {
    let mut declared = Declared::default();
    body.visit_with(&mut declared);
    let mut finder = Finder {
        namespaces,
        declared: declared.0,
        found: None,
    };
    body.visit_with(&mut finder);
    finder.found
}

/// The names the code declares: a namespace it shadows is not checked.
#[derive(Default)]
struct Declared(HashSet<String>);

impl Visit for Declared {
    fn visit_binding_ident(&mut self, ident: &BindingIdent) {
        self.0.insert(ident.id.sym.to_string());
    }

    fn visit_fn_decl(&mut self, declaration: &FnDecl) {
        self.0.insert(declaration.ident.sym.to_string());
        declaration.visit_children_with(self);
    }

    fn visit_class_decl(&mut self, declaration: &ClassDecl) {
        self.0.insert(declaration.ident.sym.to_string());
        declaration.visit_children_with(self);
    }
}

struct Finder<'a> {
    namespaces: &'a BTreeMap<String, Vec<String>>,
    declared: HashSet<String>,
    found: Option<(BytePos, String)>,
}

impl Visit for Finder<'_> {
    fn visit_call_expr(&mut self, call: &CallExpr) {
        call.visit_children_with(self);
        if let Callee::Expr(callee) = &call.callee {
            if let Expr::Member(member) = &**callee {
                self.check(member);
            }
        }
    }
}

impl Finder<'_> {
    /// Records `member`, called, when it names a function its namespace lacks.
    fn check(&mut self, member: &MemberExpr) {
        if self.found.is_some() {
            return;
        }
        let Expr::Ident(object) = &*member.obj else {
            return;
        };
        let namespace = object.sym.as_str();
        let Some(functions) = self.namespaces.get(namespace) else {
            return;
        };
        if functions.is_empty() || self.declared.contains(namespace) {
            return;
        }
        let name = match &member.prop {
            MemberProp::Ident(name) => name.sym.to_string(),
            MemberProp::Computed(computed) => match &*computed.expr {
                Expr::Lit(Lit::Str(text)) => text.value.to_string_lossy().into_owned(),
                _ => return,
            },
            MemberProp::PrivateName(_) => return,
        };
        if functions.contains(&name) {
            return;
        }
        let message =
            match nearest(&name, functions.iter().map(String::as_str)) {
                Some(near) => format!(
                    "`{namespace}.{name}` is not a function; did you mean `{namespace}.{near}`?"
                ),
                None => {
                    let some: Vec<&str> =
                        functions.iter().take(LISTED).map(String::as_str).collect();
                    let more = functions.len().saturating_sub(LISTED);
                    format!(
                    "`{namespace}.{name}` is not a function; {namespace} has {}{}. Use `search` \
                     to find the one you need.",
                    some.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                )
                }
            };
        self.found = Some((member.span.lo, message));
    }
}
