//! Constant folding, checked before minijinja does it.
//!
//! minijinja's code generator evaluates constant sub-expressions while it compiles
//! (`'x' * 100000000 ~ 'x' * 100000000` becomes one 200 MB constant), with its own unbounded
//! operators, before any instruction runs: at save time, on the request's thread. This walk
//! visits every expression of a parsed template first and folds the constant ones the same
//! way, checking each `+`, `*`, `~` and `in` against the limits before it is computed; only a
//! tree that passes reaches the code generator.

use minijinja::machinery::ast::{BinOpKind, CallArg, CompareOpKind, Expr, Stmt};
use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use super::library;
use super::limits::refused;

/// Checks every expression in `stmt` (a whole template).
pub fn check_statement(stmt: &Stmt<'_>) -> Result<(), Error> {
    match stmt {
        Stmt::Template(t) => all_statements(&t.children),
        Stmt::EmitExpr(e) => fold(&e.expr).map(drop),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::ForLoop(f) => {
            fold(&f.target)?;
            fold(&f.iter)?;
            if let Some(filter) = &f.filter_expr {
                fold(filter)?;
            }
            all_statements(&f.body)?;
            all_statements(&f.else_body)
        }
        Stmt::IfCond(i) => {
            fold(&i.expr)?;
            all_statements(&i.true_body)?;
            all_statements(&i.false_body)
        }
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                fold(target)?;
                fold(value)?;
            }
            all_statements(&w.body)
        }
        Stmt::Set(s) => {
            fold(&s.target)?;
            fold(&s.expr).map(drop)
        }
        Stmt::SetBlock(s) => {
            fold(&s.target)?;
            if let Some(filter) = &s.filter {
                fold(filter)?;
            }
            all_statements(&s.body)
        }
        Stmt::AutoEscape(a) => {
            fold(&a.enabled)?;
            all_statements(&a.body)
        }
        Stmt::FilterBlock(f) => {
            fold(&f.filter)?;
            all_statements(&f.body)
        }
        Stmt::Do(d) => {
            fold(&d.call.expr)?;
            all_args(&d.call.args)
        }
    }
}

fn all_statements(stmts: &[Stmt<'_>]) -> Result<(), Error> {
    stmts.iter().try_for_each(check_statement)
}

fn all_args(args: &[CallArg<'_>]) -> Result<(), Error> {
    for arg in args {
        match arg {
            CallArg::Pos(e)
            | CallArg::Kwarg(_, e)
            | CallArg::PosSplat(e)
            | CallArg::KwargSplat(e) => {
                fold(e)?;
            }
        }
    }
    Ok(())
}

/// The constant `expr` folds to (as minijinja's `as_const` would), after checking that
/// folding it stays within the limits; `None` when it is not constant.
pub fn fold(expr: &Expr<'_>) -> Result<Option<Value>, Error> {
    match expr {
        Expr::Const(c) => Ok(Some(c.value.clone())),
        Expr::Var(_) => Ok(None),
        Expr::List(l) => {
            for item in &l.items {
                fold(item)?;
            }
            Ok(expr.as_const())
        }
        Expr::Map(m) => {
            for e in m.keys.iter().chain(&m.values) {
                fold(e)?;
            }
            Ok(expr.as_const())
        }
        Expr::UnaryOp(u) => Ok(fold(&u.expr)?.and_then(|_| expr.as_const())),
        Expr::BinOp(b) => {
            let (Some(left), Some(right)) = (fold(&b.left)?, fold(&b.right)?) else {
                return Ok(None);
            };
            match b.op {
                BinOpKind::Add => library::check_add(&left, &right)?,
                BinOpKind::Mul => {
                    library::check_mul(&left, &right)?;
                    // Folding repeats lazily (`library::mul` makes lists at run time): a
                    // repeat of a repeat would multiply the passes every use makes.
                    if [&left, &right]
                        .iter()
                        .any(|v| v.kind() == ValueKind::Iterable)
                    {
                        return Err(refused(
                            "a list made by `+` or `*` may not be repeated again in a constant: write it out",
                        ));
                    }
                }
                BinOpKind::Concat => library::check_concat(&left, &right)?,
                BinOpKind::In => in_check(&left, &right)?,
                _ => {}
            }
            Ok(expr.as_const())
        }
        Expr::Compare(c) => {
            let mut left = fold(&c.expr)?;
            let mut constant = left.is_some();
            for op in &c.ops {
                let right = fold(&op.expr)?;
                if let (Some(l), Some(r), CompareOpKind::In | CompareOpKind::NotIn) =
                    (&left, &right, op.op)
                {
                    in_check(l, r)?;
                }
                constant &= right.is_some();
                left = right;
            }
            Ok(if constant { expr.as_const() } else { None })
        }
        Expr::Slice(s) => {
            fold(&s.expr)?;
            for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                fold(e)?;
            }
            Ok(None)
        }
        Expr::IfExpr(i) => {
            fold(&i.test_expr)?;
            fold(&i.true_expr)?;
            if let Some(e) = &i.false_expr {
                fold(e)?;
            }
            Ok(None)
        }
        Expr::Filter(f) => {
            if let Some(e) = &f.expr {
                fold(e)?;
            }
            all_args(&f.args)?;
            let keyword = library::parameter_keyword(f.name);
            let parameter = f.args.iter().find_map(|arg| match arg {
                CallArg::Pos(e) => Some(e),
                CallArg::Kwarg(name, e) if Some(*name) == keyword => Some(e),
                _ => None,
            });
            if let Some(value) = parameter.and_then(Expr::as_const) {
                library::check_constant_parameter(f.name, &value)?;
            }
            Ok(None)
        }
        Expr::Test(t) => {
            fold(&t.expr)?;
            all_args(&t.args).map(|()| None)
        }
        Expr::GetAttr(g) => fold(&g.expr).map(|_| None),
        Expr::GetItem(g) => {
            fold(&g.expr)?;
            fold(&g.subscript_expr).map(|_| None)
        }
        Expr::Call(c) => {
            fold(&c.expr)?;
            all_args(&c.args).map(|()| None)
        }
    }
}

/// minijinja folds `value in container` by showing a non-string value as text to search a
/// string container: refuse when that text would be longer than the container.
fn in_check(value: &Value, container: &Value) -> Result<(), Error> {
    if library::shown_longer_than_container(value, container) {
        Err(refused(
            "a constant `in` a shorter string would be shown as text first; it is refused",
        ))
    } else {
        Ok(())
    }
}
