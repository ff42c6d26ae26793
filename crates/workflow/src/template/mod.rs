//! Templates and expressions in definitions (minijinja, ADR 0017).
//!
//! Every string in a step's `with` is a template. A string that is exactly one
//! `{{ expression }}` keeps the expression's JSON type (`"{{ steps.a.output.n * 2 }}"` is a
//! number, not the text of one), so outputs chain without quoting games; any other string
//! renders to text. `if`, a `condition` step's `expr`, event filters and concurrency keys are
//! bare expressions. Saving compiles all of them ([`check_template`], [`check_expression`]), so
//! a typo is a 422 naming its field, not a failed execution hours later.
//!
//! Templates are written by tenant members and run on shared workers, so every evaluation is
//! bounded in time and memory before anything is allocated: `compile` routes every operation
//! that can grow a value through `library`, which checks it against `limits`.

mod compile;
mod constants;
mod library;
mod limits;

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use minijinja::machinery::Instruction;
use minijinja::Environment;
use serde_json::Value;

pub use limits::{FUEL, MAX_DEPTH, MAX_ITEMS, MAX_MADE_BYTES, MAX_TEXT, MAX_TIME};

/// Functions a template may call: reading them is not reading a variable.
const GLOBALS: [&str; 3] = ["range", "dict", "namespace"];

/// How long all the evaluations one save makes of its static templates may take together.
pub const CHECK_TIME: Duration = Duration::from_secs(1);

/// A plain environment used only to list what a template reads (never to run one).
fn analysis() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(Environment::new)
}

/// What a template or expression reads, as found when it was compiled.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct References {
    /// Top-level variables (`inputs`, `steps`, …).
    pub roots: BTreeSet<String>,
    /// Step ids read as `steps.<id>`.
    pub steps: BTreeSet<String>,
}

impl References {
    fn of(variables: impl IntoIterator<Item = String>) -> Self {
        let mut refs = Self::default();
        for var in variables {
            let mut parts = var.split('.');
            let Some(root) = parts.next() else { continue };
            if GLOBALS.contains(&root) {
                continue;
            }
            if root == "steps" {
                if let Some(step) = parts.next() {
                    refs.steps.insert(step.to_owned());
                }
            }
            refs.roots.insert(root.to_owned());
        }
        refs
    }

    /// The first root not in `allowed`, to name in an error.
    pub fn unknown_root(&self, allowed: &[&str]) -> Option<&str> {
        self.roots
            .iter()
            .map(String::as_str)
            .find(|r| !allowed.contains(r))
    }
}

/// The time one save may spend evaluating its static templates ([`CHECK_TIME`] in all).
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    deadline: Instant,
}

impl Checks {
    /// A budget starting now.
    pub fn start() -> Self {
        Self {
            deadline: Instant::now() + CHECK_TIME,
        }
    }
}

/// The expression inside a string that is exactly one `{{ … }}` (whitespace around it and
/// `{{-`/`-}}` markers allowed), if it is one.
fn sole_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if ["{{", "}}", "{%", "{#"].iter().any(|m| inner.contains(m)) {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner.trim())
}

/// Compiles `source` as a template (or a sole expression); the error is minijinja's message,
/// or the limit a static template (one that reads nothing) runs into when evaluated.
pub fn check_template(source: &str, checks: Checks) -> Result<References, String> {
    if let Some(expr) = sole_expression(source) {
        return check_expression(expr, checks);
    }
    let compiled = compile::template(source).map_err(|e| describe(&e))?;
    known_names(&compiled)?;
    let template = analysis()
        .template_from_str(source)
        .map_err(|e| describe(&e))?;
    let refs = References::of(template.undeclared_variables(true));
    if refs.roots.is_empty() {
        limits::metered(Some(checks.deadline), || {
            compile::run(&compiled, minijinja::Value::UNDEFINED, &mut String::new())
        })
        .map_err(|e| describe(&e))?;
    }
    Ok(refs)
}

/// Compiles `source` as a bare expression (`inputs.n > 10`); a static one is evaluated too.
pub fn check_expression(source: &str, checks: Checks) -> Result<References, String> {
    if source.trim().is_empty() {
        return Err("is empty".into());
    }
    let compiled = compile::expression(source).map_err(|e| describe(&e))?;
    known_names(&compiled)?;
    let expr = analysis()
        .compile_expression(source)
        .map_err(|e| describe(&e))?;
    let refs = References::of(expr.undeclared_variables(true));
    if refs.roots.is_empty() {
        limits::metered(Some(checks.deadline), || {
            let value = compile::run(&compiled, minijinja::Value::UNDEFINED, &mut String::new())?;
            to_json(value)
        })
        .map_err(|e| describe(&e))?;
    }
    Ok(refs)
}

/// Refuses filters and tests the environment does not have (minijinja would only notice when
/// the template runs).
fn known_names(compiled: &minijinja::machinery::Instructions<'_>) -> Result<(), String> {
    for idx in 0..u32::try_from(compiled.len()).unwrap_or(u32::MAX) {
        match compiled.get(idx) {
            Some(Instruction::ApplyFilter(name, ..)) if !library::has_filter(name) => {
                return Err(format!(
                    "unknown filter `{name}`; the filters are {}",
                    library::filter_names().join(", ")
                ))
            }
            Some(Instruction::PerformTest(name, ..)) if !library::has_test(name) => {
                return Err(format!("unknown test `{name}`"))
            }
            Some(_) => {}
            None => break,
        }
    }
    Ok(())
}

/// Renders every string inside `value` against `context`: a sole `{{ expression }}` keeps
/// its JSON type, any other string becomes text; numbers, booleans and null pass through.
/// All of it is one evaluation, within one set of limits.
pub fn render(value: &Value, context: &Value) -> Result<Value, String> {
    let context = minijinja::Value::from_serialize(context);
    limits::metered(None, || render_value(value, &context)).map_err(|e| describe(&e))
}

fn render_value(value: &Value, context: &minijinja::Value) -> Result<Value, minijinja::Error> {
    Ok(match value {
        Value::String(source) => render_str(source, context)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, context))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, context)?)))
                .collect::<Result<_, minijinja::Error>>()?,
        ),
        other => other.clone(),
    })
}

fn render_str(source: &str, context: &minijinja::Value) -> Result<Value, minijinja::Error> {
    if let Some(expr) = sole_expression(source) {
        let compiled = compile::expression(expr)?;
        return to_json(compile::run(
            &compiled,
            context.clone(),
            &mut String::new(),
        )?);
    }
    if !source.contains("{{") && !source.contains("{%") {
        return Ok(Value::String(source.to_owned()));
    }
    let compiled = compile::template(source)?;
    let mut out = String::new();
    compile::run(&compiled, context.clone(), &mut out)?;
    Ok(Value::String(out))
}

/// An expression's value as JSON (undefined is `null`), measured before it is made.
fn to_json(value: Option<minijinja::Value>) -> Result<Value, minijinja::Error> {
    let Some(value) = value.filter(|v| !v.is_undefined()) else {
        return Ok(Value::Null);
    };
    if limits::json_len(&value, MAX_TEXT).is_none() {
        return Err(limits::refused(format!(
            "the value would be more than {MAX_TEXT} bytes of JSON (or is not JSON)"
        )));
    }
    serde_json::to_value(&value)
        .map_err(|e| limits::refused(format!("the result is not JSON: {e}")))
}

/// Evaluates a bare expression to JSON (undefined is `null`).
pub fn evaluate(source: &str, context: &Value) -> Result<Value, String> {
    let context = minijinja::Value::from_serialize(context);
    limits::metered(None, || {
        let compiled = compile::expression(source)?;
        to_json(compile::run(&compiled, context, &mut String::new())?)
    })
    .map_err(|e| describe(&e))
}

/// Evaluates a bare expression as a condition, with Jinja truthiness (empty and undefined
/// are false).
pub fn holds(source: &str, context: &Value) -> Result<bool, String> {
    let context = minijinja::Value::from_serialize(context);
    limits::metered(None, || {
        let compiled = compile::expression(source)?;
        Ok(compile::run(&compiled, context, &mut String::new())?.is_some_and(|v| v.is_true()))
    })
    .map_err(|e| describe(&e))
}

/// minijinja's message without its source excerpt: `syntax error: unexpected end of input`.
fn describe(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

#[cfg(test)]
mod tests;
