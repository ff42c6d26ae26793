//! Templates and expressions in definitions (minijinja, ADR 0017).
//!
//! Every string in a step's `with` is a template. A string that is exactly one
//! `{{ expression }}` keeps the expression's JSON type (`"{{ steps.a.output.n * 2 }}"` is a
//! number, not the text of one), so outputs chain without quoting games; any other string
//! renders to text. `if`, a `condition` step's `expr`, event filters and concurrency keys are
//! bare expressions. Saving compiles all of them ([`check_template`], [`check_expression`]), so
//! a typo is a 422 naming its field, not a failed execution hours later.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// The instructions one evaluation may run: generous for real templates, a wall for
/// `{% for %}` loops nested to run for minutes on a shared worker.
const FUEL: u64 = 200_000;

/// Functions minijinja provides as globals: reading them is not reading a variable.
const GLOBALS: [&str; 7] = [
    "range",
    "dict",
    "namespace",
    "debug",
    "lipsum",
    "cycler",
    "joiner",
];

/// One environment for the process: builtins registered once, no loader (templates cannot
/// include files), lenient undefined values (a missing field reads as empty, `if` as false).
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_fuel(Some(FUEL));
        env
    })
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

/// Compiles `source` as a template (or a sole expression); the error is minijinja's message.
pub fn check_template(source: &str) -> Result<References, String> {
    if let Some(expr) = sole_expression(source) {
        return check_expression(expr);
    }
    let template = environment()
        .template_from_str(source)
        .map_err(|e| describe(&e))?;
    Ok(References::of(template.undeclared_variables(true)))
}

/// Compiles `source` as a bare expression (`inputs.n > 10`).
pub fn check_expression(source: &str) -> Result<References, String> {
    if source.trim().is_empty() {
        return Err("is empty".into());
    }
    let expr = environment()
        .compile_expression(source)
        .map_err(|e| describe(&e))?;
    Ok(References::of(expr.undeclared_variables(true)))
}

/// Renders every string inside `value` against `context`: a sole `{{ expression }}` keeps
/// its JSON type, any other string becomes text; numbers, booleans and null pass through.
pub fn render(value: &Value, context: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::String(source) => render_str(source, context)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render(v, context))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), render(v, context)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn render_str(source: &str, context: &Value) -> Result<Value, String> {
    if let Some(expr) = sole_expression(source) {
        return evaluate(expr, context);
    }
    if !source.contains("{{") && !source.contains("{%") {
        return Ok(Value::String(source.to_owned()));
    }
    environment()
        .render_str(source, context)
        .map(Value::String)
        .map_err(|e| describe(&e))
}

/// Evaluates a bare expression to JSON (undefined is `null`).
pub fn evaluate(source: &str, context: &Value) -> Result<Value, String> {
    let expr = environment()
        .compile_expression(source)
        .map_err(|e| describe(&e))?;
    let value = expr.eval(context).map_err(|e| describe(&e))?;
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    serde_json::to_value(&value).map_err(|e| format!("the result is not JSON: {e}"))
}

/// Evaluates a bare expression as a condition, with Jinja truthiness (empty and undefined
/// are false).
pub fn holds(source: &str, context: &Value) -> Result<bool, String> {
    let expr = environment()
        .compile_expression(source)
        .map_err(|e| describe(&e))?;
    expr.eval(context)
        .map(|v| v.is_true())
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
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        json!({"inputs": {"n": 7, "name": "Ada", "tags": ["a", "b"]},
               "steps": {"start": {"output": {"n": 7}}}})
    }

    #[test]
    fn a_sole_expression_keeps_its_json_type() {
        let with = json!({
            "n": "{{ inputs.n }}",
            "v": "{{ steps.start.output.n * 2 }}",
            "big": "{{ inputs.n > 10 }}",
            "tags": "{{ inputs.tags }}",
            "title": "Approve {{ inputs.n }}",
            "spaced": "  {{- inputs.name -}}  ",
            "missing": "{{ inputs.nothing }}",
            "plain": "just text",
            "nested": [{"x": "{{ inputs.n + 1 }}"}, 3, true, null],
        });
        assert_eq!(
            render(&with, &ctx()).unwrap(),
            json!({
                "n": 7, "v": 14, "big": false, "tags": ["a", "b"], "title": "Approve 7",
                "spaced": "Ada", "missing": null, "plain": "just text",
                "nested": [{"x": 8}, 3, true, null],
            })
        );
    }

    #[test]
    fn expressions_decide_conditions() {
        assert!(!holds("inputs.n > 10", &ctx()).unwrap());
        assert!(holds("inputs.n > 5 and inputs.name == 'Ada'", &ctx()).unwrap());
        assert!(!holds("inputs.absent", &ctx()).unwrap());
    }

    #[test]
    fn compiling_reports_syntax_errors_and_what_is_read() {
        assert!(check_template("{{ inputs.n ")
            .unwrap_err()
            .contains("syntax error"));
        assert!(check_expression("inputs.n >")
            .unwrap_err()
            .contains("syntax error"));
        assert!(check_template("{% for x in %}").is_err());
        let refs =
            check_template("{% for t in inputs.tags %}{{ t }}{{ steps.fetch.output.id }}{% endfor %}{{ range(3) | length }}")
                .unwrap();
        assert_eq!(refs.steps.iter().collect::<Vec<_>>(), ["fetch"]);
        assert_eq!(refs.roots.iter().collect::<Vec<_>>(), ["inputs", "steps"]);
        let refs = check_expression("input.n > 1").unwrap();
        assert_eq!(refs.unknown_root(&["inputs", "steps"]), Some("input"));
    }

    #[test]
    fn a_runaway_template_runs_out_of_fuel() {
        let err = render(
            &json!("{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}"),
            &ctx(),
        )
        .unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }
}
