//! The one environment templates run in: which filters, tests and functions exist, and the
//! bounded operators the compiler routes `+`, `*`, `~` and `in` through (`compile.rs`).
//!
//! Everything is an allow-list. A filter either cannot make more than a constant times what it
//! is given (and its result is charged to the meter afterwards), or its size-setting argument
//! is checked before minijinja's own implementation runs (`indent`, `batch`, `slice`, `join`,
//! `replace`, `range`, `*`), or it is ours (`tojson`, `pprint`). Arguments that minijinja
//! turns into text (a list given where a string is expected) are measured first, since showing
//! a list of ten thousand references to one long string would be gigabytes.
//! `format` (printf widths), `debug` (the whole context) and `lipsum` are left out.

use std::sync::OnceLock;

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, Expression, State, UndefinedBehavior, Value};

use super::limits::{
    self, charge, check_depth, holds_namespace, refused, text_len, text_of, too_long, too_many,
    MAX_DEPTH, MAX_ITEMS, MAX_TEXT,
};

/// Names the compiler calls instead of the operators; a template may not use the prefix.
pub mod ops {
    /// `a + b`.
    pub const ADD: &str = "__usvc_add";
    /// `a * b`.
    pub const MUL: &str = "__usvc_mul";
    /// `a ~ b`.
    pub const CONCAT: &str = "__usvc_concat";
    /// `a in b`.
    pub const CONTAINS: &str = "__usvc_in";
    /// Checks a value before it is stored in a variable.
    pub const KEEP: &str = "__usvc_keep";
    /// Checks a value before it is stored in a namespace.
    pub const KEEP_IN_NAMESPACE: &str = "__usvc_keep_in_namespace";
    /// The prefix templates may not use.
    pub const RESERVED: &str = "__usvc";
}

/// The widest `indent` and `tojson(indent=…)`.
const MAX_INDENT: usize = 32;

/// The environment every template and expression of a workflow runs in.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(build)
}

fn build() -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_fuel(Some(limits::FUEL));
    env.set_formatter(|out, state, value| {
        let room = limits::output_room();
        let Some(len) = text_len(value, room) else {
            return Err(refused(format!(
                "the rendered text would be longer than {MAX_TEXT} bytes"
            )));
        };
        limits::charge_output(len)?;
        minijinja::escape_formatter(out, state, value)
    });
    add_filters(&mut env);
    add_tests(&mut env);
    add_functions(&mut env);
    env
}

/// How a filter's arguments are treated before minijinja's implementation runs.
#[derive(Clone, Copy)]
enum Shape {
    /// Turns its value and every positional argument into text.
    Text,
    /// Works on structure; the listed positional arguments are turned into text.
    Structure(&'static [usize]),
}

/// The filters of `filter_table` and the two of our own.
const OWN_FILTERS: [&str; 2] = ["tojson", "pprint"];

/// The names of every filter a template may use.
pub fn filter_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&str> = filter_table().into_iter().map(|(n, ..)| n).collect();
        names.extend(OWN_FILTERS);
        names.sort_unstable();
        names
    })
}

/// Whether a template may use the filter `name`.
pub fn has_filter(name: &str) -> bool {
    filter_names().contains(&name)
}

/// Whether a template may use the test `name`.
pub fn has_test(name: &str) -> bool {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut names: Vec<&str> = plain_tests().into_iter().map(|(n, _)| n).collect();
            names.extend(textual_tests().into_iter().map(|(n, _)| n));
            names.push("in");
            names
        })
        .contains(&name)
}

fn filter_table() -> Vec<(&'static str, Value, Shape)> {
    use minijinja::filters as f;
    use Shape::{Structure, Text};
    let none: &'static [usize] = &[];
    vec![
        ("lower", Value::from_function(f::lower), Text),
        ("upper", Value::from_function(f::upper), Text),
        ("title", Value::from_function(f::title), Text),
        ("capitalize", Value::from_function(f::capitalize), Text),
        ("trim", Value::from_function(f::trim), Text),
        ("string", Value::from_function(f::string), Text),
        ("safe", Value::from_function(f::safe), Text),
        (
            "escape",
            Value::from_function(minijinja::filters::escape),
            Text,
        ),
        ("e", Value::from_function(minijinja::filters::escape), Text),
        ("urlencode", Value::from_function(f::urlencode), Text),
        ("length", Value::from_function(f::length), Structure(none)),
        ("count", Value::from_function(f::length), Structure(none)),
        (
            "dictsort",
            Value::from_function(f::dictsort),
            Structure(none),
        ),
        ("items", Value::from_function(f::items), Structure(none)),
        ("reverse", Value::from_function(f::reverse), Structure(none)),
        ("default", Value::from_function(f::default), Structure(none)),
        ("d", Value::from_function(f::default), Structure(none)),
        ("round", Value::from_function(f::round), Structure(none)),
        ("abs", Value::from_function(f::abs), Structure(none)),
        ("int", Value::from_function(f::int), Structure(none)),
        ("float", Value::from_function(f::float), Structure(none)),
        ("bool", Value::from_function(f::bool), Structure(none)),
        ("attr", Value::from_function(f::attr), Structure(none)),
        ("first", Value::from_function(f::first), Structure(none)),
        ("last", Value::from_function(f::last), Structure(none)),
        ("min", Value::from_function(f::min), Structure(none)),
        ("max", Value::from_function(f::max), Structure(none)),
        ("sum", Value::from_function(f::sum), Structure(none)),
        ("sort", Value::from_function(f::sort), Structure(none)),
        ("list", Value::from_function(f::list), Structure(none)),
        ("unique", Value::from_function(f::unique), Structure(none)),
        ("groupby", Value::from_function(f::groupby), Structure(none)),
        ("chain", Value::from_function(f::chain), Structure(none)),
        ("zip", Value::from_function(f::zip), Structure(none)),
        ("map", Value::from_function(f::map), Structure(none)),
        ("select", Value::from_function(f::select), Structure(&[1])),
        ("reject", Value::from_function(f::reject), Structure(&[1])),
        (
            "selectattr",
            Value::from_function(f::selectattr),
            Structure(&[1, 2]),
        ),
        (
            "rejectattr",
            Value::from_function(f::rejectattr),
            Structure(&[1, 2]),
        ),
        ("split", Value::from_function(f::split), Structure(&[1])),
        ("lines", Value::from_function(f::lines), Structure(none)),
        ("join", Value::from_function(f::join), Structure(&[1])),
        ("replace", Value::from_function(f::replace), Text),
        ("indent", Value::from_function(f::indent), Text),
        ("batch", Value::from_function(f::batch), Structure(none)),
        ("slice", Value::from_function(f::slice), Structure(none)),
    ]
}

fn add_filters(env: &mut Environment<'static>) {
    for (name, native, shape) in filter_table() {
        env.add_filter(name, move |state: &State, args: Rest<Value>| {
            before(name, shape, &args)?;
            let mut result = native.call(state, &args)?;
            if name == "chain" {
                result = made(&result)?;
            }
            charge_result(&result)?;
            Ok::<Value, Error>(result)
        });
    }
    env.add_filter(OWN_FILTERS[0], tojson);
    env.add_filter(OWN_FILTERS[1], pprint);
}

fn plain_tests() -> Vec<(&'static str, Value)> {
    use minijinja::tests as t;
    vec![
        ("undefined", Value::from_function(t::is_undefined)),
        ("defined", Value::from_function(t::is_defined)),
        ("none", Value::from_function(t::is_none)),
        ("safe", Value::from_function(t::is_safe)),
        ("escaped", Value::from_function(t::is_safe)),
        ("boolean", Value::from_function(t::is_boolean)),
        ("odd", Value::from_function(t::is_odd)),
        ("even", Value::from_function(t::is_even)),
        ("divisibleby", Value::from_function(t::is_divisibleby)),
        ("number", Value::from_function(t::is_number)),
        ("integer", Value::from_function(t::is_integer)),
        ("int", Value::from_function(t::is_integer)),
        ("float", Value::from_function(t::is_float)),
        ("string", Value::from_function(t::is_string)),
        ("sequence", Value::from_function(t::is_sequence)),
        ("iterable", Value::from_function(t::is_iterable)),
        ("mapping", Value::from_function(t::is_mapping)),
        ("sameas", Value::from_function(t::is_sameas)),
        ("eq", Value::from_function(t::is_eq)),
        ("equalto", Value::from_function(t::is_eq)),
        ("==", Value::from_function(t::is_eq)),
        ("ne", Value::from_function(t::is_ne)),
        ("!=", Value::from_function(t::is_ne)),
        ("lt", Value::from_function(t::is_lt)),
        ("lessthan", Value::from_function(t::is_lt)),
        ("<", Value::from_function(t::is_lt)),
        ("le", Value::from_function(t::is_le)),
        ("<=", Value::from_function(t::is_le)),
        ("gt", Value::from_function(t::is_gt)),
        ("greaterthan", Value::from_function(t::is_gt)),
        (">", Value::from_function(t::is_gt)),
        ("ge", Value::from_function(t::is_ge)),
        (">=", Value::from_function(t::is_ge)),
        ("true", Value::from_function(t::is_true)),
        ("false", Value::from_function(t::is_false)),
        ("filter", Value::from_function(t::is_filter)),
        ("test", Value::from_function(t::is_test)),
    ]
}

/// Tests that show their arguments as text first.
fn textual_tests() -> Vec<(&'static str, Value)> {
    use minijinja::tests as t;
    vec![
        ("startingwith", Value::from_function(t::is_startingwith)),
        ("endingwith", Value::from_function(t::is_endingwith)),
        ("lower", Value::from_function(t::is_lower)),
        ("upper", Value::from_function(t::is_upper)),
    ]
}

fn add_tests(env: &mut Environment<'static>) {
    for (name, native) in plain_tests() {
        env.add_test(name, move |state: &State, args: Rest<Value>| {
            native.call(state, &args).map(|v| v.is_true())
        });
    }
    for (name, native) in textual_tests() {
        env.add_test(name, move |state: &State, args: Rest<Value>| {
            before(name, Shape::Text, &args)?;
            native.call(state, &args).map(|v| v.is_true())
        });
    }
    env.add_test("in", |value: &Value, container: &Value| {
        contains(value, container).map(|v| v.is_true())
    });
}

fn add_functions(env: &mut Environment<'static>) {
    env.add_function("range", range);
    env.add_function("dict", |state: &State, args: Rest<Value>| {
        let result = Value::from_function(minijinja::functions::dict).call(state, &args)?;
        charge_result(&result)?;
        Ok::<Value, Error>(result)
    });
    env.add_function("namespace", namespace);
    env.add_function(ops::ADD, add);
    env.add_function(ops::MUL, mul);
    env.add_function(ops::CONCAT, concat);
    env.add_function(ops::CONTAINS, contains);
    env.add_function(ops::KEEP, keep);
    env.add_function(ops::KEEP_IN_NAMESPACE, keep_in_namespace);
}

/// The positional arguments (a trailing keyword-argument map excluded).
fn positional(args: &[Value]) -> &[Value] {
    match args.last() {
        Some(last) if last.is_kwargs() => &args[..args.len() - 1],
        _ => args,
    }
}

/// A keyword argument, without marking it used (minijinja's implementation reads it again).
fn keyword(args: &[Value], name: &str) -> Option<Value> {
    let last = args.last().filter(|v| v.is_kwargs())?;
    let kwargs = Kwargs::try_from(last.clone()).ok()?;
    kwargs.peek::<Value>(name).ok()
}

/// Checks a filter's arguments before minijinja's implementation runs.
fn before(name: &str, shape: Shape, args: &[Value]) -> Result<(), Error> {
    let positional = positional(args);
    let textual: Vec<usize> = match shape {
        Shape::Text => (0..positional.len()).collect(),
        Shape::Structure(at) => at.to_vec(),
    };
    for &i in &textual {
        if let Some(value) = positional.get(i) {
            if text_len(value, MAX_TEXT).is_none() {
                return Err(too_long(MAX_TEXT + 1));
            }
        }
    }
    let arg = |i: usize, kw: &str| positional.get(i).cloned().or_else(|| keyword(args, kw));
    let first = positional.first();
    match name {
        "indent" => check_indent(first, arg(1, "width")),
        "replace" => check_replace(positional),
        "join" => check_join(first, positional.get(1)),
        "batch" | "slice" => {
            let count = arg(1, "count").and_then(|c| c.as_usize()).unwrap_or(0);
            if count > MAX_ITEMS {
                Err(too_many(count))
            } else {
                Ok(())
            }
        }
        "split" => check_pieces(first, |text| {
            match positional.get(1).and_then(Value::as_str) {
                Some("") => text.chars().count() + 2,
                Some(sep) => text.matches(sep).count() + 1,
                None => text.split_whitespace().count(),
            }
        }),
        "lines" => check_pieces(first, |text| text.matches('\n').count() + 1),
        // A string is a list of its characters to these.
        "list" | "sort" | "unique" | "map" | "select" | "reject" | "selectattr" | "rejectattr"
        | "groupby" | "reverse" => check_pieces(first, |text| text.chars().count()),
        _ => Ok(()),
    }
}

/// A filter's size-setting parameter written as a constant (`indent(1000000)`,
/// `tojson(indent=…)`, `batch(…)`, `slice(…)`), checked when the template is saved: it would
/// fail every evaluation. `parameter` is the first argument after the filtered value, or the
/// keyword of the same meaning.
pub fn check_constant_parameter(filter: &str, parameter: &Value) -> Result<(), Error> {
    let n = parameter.as_usize();
    match filter {
        "indent" if n.is_some_and(|w| w > MAX_INDENT) => {
            Err(refused(format!("indent is at most {MAX_INDENT} wide")))
        }
        "tojson"
            if !matches!(parameter.kind(), ValueKind::Bool | ValueKind::None)
                && n.is_none_or(|w| w > MAX_INDENT) =>
        {
            Err(refused(format!(
                "tojson's indent is true, false or at most {MAX_INDENT}"
            )))
        }
        "batch" | "slice" if n.is_some_and(|c| c > MAX_ITEMS) => {
            Err(too_many(n.unwrap_or(usize::MAX)))
        }
        _ => Ok(()),
    }
}

/// The keyword that means the same as a filter's first parameter.
pub fn parameter_keyword(filter: &str) -> Option<&'static str> {
    match filter {
        "indent" => Some("width"),
        "tojson" => Some("indent"),
        "batch" | "slice" => Some("count"),
        _ => None,
    }
}

/// `indent`: at most `MAX_INDENT` wide, and the indented text within `MAX_TEXT`.
fn check_indent(text: Option<&Value>, width: Option<Value>) -> Result<(), Error> {
    let width = width.and_then(|w| w.as_usize()).unwrap_or(4);
    if width > MAX_INDENT {
        return Err(refused(format!("indent is at most {MAX_INDENT} wide")));
    }
    let len = text.map_or(0, |v| text_len(v, MAX_TEXT).unwrap_or(0));
    let lines = text
        .and_then(Value::as_str)
        .map_or(1, |s| s.matches('\n').count() + 1);
    let total = len.saturating_add(lines.saturating_mul(width));
    if total > MAX_TEXT {
        return Err(too_long(total));
    }
    Ok(())
}

/// `replace(from, to)`: the text after every replacement within `MAX_TEXT`.
fn check_replace(positional: &[Value]) -> Result<(), Error> {
    let (Some(text), Some(from), Some(to)) =
        (positional.first(), positional.get(1), positional.get(2))
    else {
        return Ok(());
    };
    // Each was measured by `before` (at most `MAX_TEXT` as text).
    let (text, from, to) = (text.to_string(), from.to_string(), to.to_string());
    if to.len() <= from.len() {
        return Ok(());
    }
    let hits = if from.is_empty() {
        text.chars().count() + 1
    } else {
        text.matches(from.as_str()).count()
    };
    let total = text
        .len()
        .saturating_add(hits.saturating_mul(to.len() - from.len()));
    if total > MAX_TEXT {
        return Err(too_long(total));
    }
    Ok(())
}

/// `join(sep)`: every item shown as text, and the separators, within `MAX_TEXT`.
fn check_join(items: Option<&Value>, sep: Option<&Value>) -> Result<(), Error> {
    let sep = sep.map_or(0, |s| text_len(s, MAX_TEXT).unwrap_or(0));
    let Some(iter) = items
        .filter(|v| v.as_str().is_none())
        .and_then(|v| v.try_iter().ok())
    else {
        return Ok(());
    };
    let mut total = 0usize;
    for (i, item) in iter.enumerate() {
        let room = MAX_TEXT.saturating_sub(total);
        let piece = text_len(&item, room).ok_or_else(|| too_long(MAX_TEXT + 1))?;
        total = total.saturating_add(piece);
        if i > 0 {
            total = total.saturating_add(sep);
        }
        if total > MAX_TEXT {
            return Err(too_long(total));
        }
    }
    Ok(())
}

/// Filters that cut a string into pieces: at most `MAX_ITEMS` of them.
fn check_pieces(text: Option<&Value>, pieces: impl Fn(&str) -> usize) -> Result<(), Error> {
    match text.and_then(Value::as_str).map(pieces) {
        Some(n) if n > MAX_ITEMS => Err(too_many(n)),
        _ => Ok(()),
    }
}

/// Charges what a filter or function made to the meter.
fn charge_result(value: &Value) -> Result<(), Error> {
    match value.kind() {
        ValueKind::String => charge(value.as_str().map_or(0, str::len), 0),
        ValueKind::Seq | ValueKind::Map => charge(0, value.len().unwrap_or(0)),
        _ => charge(0, 0),
    }
}

/// `tojson`: JSON text (indented with `true` or a width up to `MAX_INDENT`), with `<`, `>`,
/// `&` and `'` escaped as minijinja's own does, measured before it is made.
#[allow(clippy::needless_pass_by_value)] // minijinja hands keyword arguments over by value
fn tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = match indent.or(kwargs.get::<Option<Value>>("indent")?) {
        None => None,
        Some(v) if v.is_none() || v.is_undefined() => None,
        Some(v) if v.kind() == ValueKind::Bool => v.is_true().then_some(2),
        Some(v) => match v.as_usize() {
            Some(n) if n <= MAX_INDENT => Some(n),
            _ => {
                return Err(refused(format!(
                    "tojson's indent is true, false or at most {MAX_INDENT}"
                )))
            }
        },
    };
    kwargs.assert_all_used()?;
    let mut bytes = limits::Capped::counter(MAX_TEXT);
    let measured = match indent {
        Some(n) => {
            let spaces = vec![b' '; n];
            let formatter = serde_json::ser::PrettyFormatter::with_indent(&spaces);
            let mut ser = serde_json::Serializer::with_formatter(&mut bytes, formatter);
            serde::Serialize::serialize(value, &mut ser).is_ok()
        }
        None => serde_json::to_writer(&mut bytes, value).is_ok(),
    };
    if !measured {
        return Err(refused(format!(
            "the JSON would be longer than {MAX_TEXT} bytes (or the value is not JSON)"
        )));
    }
    let json = match indent {
        Some(n) => {
            let spaces = vec![b' '; n];
            let formatter = serde_json::ser::PrettyFormatter::with_indent(&spaces);
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut ser)
                .map_err(|e| refused(format!("not JSON: {e}")))?;
            String::from_utf8(out).map_err(|e| refused(format!("not JSON: {e}")))?
        }
        None => serde_json::to_string(value).map_err(|e| refused(format!("not JSON: {e}")))?,
    };
    let specials = json.bytes().filter(|b| b"<>&'".contains(b)).count();
    let len = json.len() + specials * 5;
    charge(len, 0)?;
    let mut escaped = String::with_capacity(len);
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            '\'' => escaped.push_str("\\u0027"),
            c => escaped.push(c),
        }
    }
    Ok(Value::from_safe_string(escaped))
}

/// `pprint`: the value as minijinja shows it for debugging, within `MAX_TEXT`.
fn pprint(value: &Value) -> Result<String, Error> {
    let mut out = String::new();
    let mut capped = limits::Capped::into(&mut out, MAX_TEXT);
    std::fmt::write(&mut capped, format_args!("{value:#?}")).map_err(|_| too_long(MAX_TEXT + 1))?;
    charge(out.len(), 0)?;
    Ok(out)
}

/// `range`, at most `MAX_ITEMS` long.
fn range(lower: isize, upper: Option<isize>, step: Option<isize>) -> Result<Value, Error> {
    let wide = |n: isize| i128::try_from(n).unwrap_or_default();
    let (start, end) = match upper {
        Some(upper) => (wide(lower), wide(upper)),
        None => (0, wide(lower)),
    };
    let by = wide(step.unwrap_or(1));
    let count = match by {
        0 => 0,
        by if by > 0 => (end - start + by - 1).max(0) / by,
        by => (start - end - by - 1).max(0) / -by,
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > MAX_ITEMS {
        return Err(too_many(count));
    }
    charge(0, count)?;
    minijinja::functions::range(lower, upper, step)
}

/// `namespace(…)`: its initial values are checked like a stored value, and it is recorded so
/// that no namespace is ever stored in another (no cycles, no unbounded chains).
#[allow(clippy::needless_pass_by_value)] // minijinja hands the arguments over by value
fn namespace(state: &State, args: Rest<Value>) -> Result<Value, Error> {
    for arg in args.iter() {
        check_depth(arg, MAX_DEPTH - 1)?;
        if holds_namespace(arg, MAX_DEPTH) {
            return Err(refused("a namespace cannot hold another namespace"));
        }
    }
    let ns = Value::from_function(minijinja::functions::namespace).call(state, &args)?;
    limits::register_namespace(&ns)?;
    Ok(ns)
}

/// Evaluates `a <op> b` with minijinja's own operator, once the sizes are known to be fine.
fn native(op: &'static str, a: &Value, b: &Value) -> Result<Value, Error> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    static EXPRS: OnceLock<[(&'static str, Expression<'static, 'static>); 3]> = OnceLock::new();
    let exprs = EXPRS.get_or_init(|| {
        let env = ENV.get_or_init(|| {
            let mut env = Environment::empty();
            env.set_undefined_behavior(UndefinedBehavior::Lenient);
            env
        });
        let compile = |source: &'static str| {
            env.compile_expression(source)
                .unwrap_or_else(|e| unreachable!("a fixed expression compiles: {e}"))
        };
        [
            ("+", compile("a + b")),
            ("*", compile("a * b")),
            ("in", compile("a in b")),
        ]
    });
    let expr = exprs
        .iter()
        .find(|(name, _)| *name == op)
        .map(|(_, e)| e)
        .ok_or_else(|| refused("unknown operator"))?;
    expr.eval(minijinja::context! { a => a.clone(), b => b.clone() })
}

/// How many items `value` holds when iterated, or `None` for other values (counting at most
/// `MAX_ITEMS + 1`).
fn item_count(value: &Value) -> Option<usize> {
    if !matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return None;
    }
    value.len().or_else(|| {
        value
            .try_iter()
            .ok()
            .map(|it| it.take(MAX_ITEMS + 1).count())
    })
}

/// Refuses `a + b` when it would make a string or list past the limits.
pub fn check_add(a: &Value, b: &Value) -> Result<(), Error> {
    if let (Some(x), Some(y)) = (item_count(a), item_count(b)) {
        let n = x.saturating_add(y);
        if n > MAX_ITEMS {
            return Err(too_many(n));
        }
        charge(0, 0)
    } else if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        charge(x.len().saturating_add(y.len()), 0)
    } else {
        charge(0, 0)
    }
}

/// Refuses `a * b` when a repeated string or list would pass the limits.
pub fn check_mul(a: &Value, b: &Value) -> Result<(), Error> {
    let repeated = |what: &Value, times: &Value| -> Result<(), Error> {
        let n = times.as_usize().unwrap_or(0);
        if let Some(s) = what.as_str() {
            charge(s.len().saturating_mul(n), 0)
        } else if let Some(items) = item_count(what) {
            // Each repeat is a pass over the list at every use, even over an empty one:
            // `[] * 10**15` held nothing and took 10**15 passes to show.
            if n > MAX_ITEMS {
                return Err(refused(format!(
                    "a list may be repeated at most {MAX_ITEMS} times, not {n}"
                )));
            }
            let total = items.saturating_mul(n);
            if total > MAX_ITEMS {
                return Err(too_many(total));
            }
            charge(0, total)
        } else {
            Ok(())
        }
    };
    repeated(a, b)?;
    repeated(b, a)
}

/// Refuses `a ~ b` when the text would pass `MAX_TEXT` (measured, not made).
pub fn check_concat(a: &Value, b: &Value) -> Result<(), Error> {
    let left = text_len(a, MAX_TEXT).ok_or_else(|| too_long(MAX_TEXT + 1))?;
    let right = text_len(b, MAX_TEXT - left).ok_or_else(|| too_long(MAX_TEXT + 1))?;
    charge(left + right, 0)
}

/// `a + b`: numbers add, strings join (within `MAX_TEXT`), lists chain (within `MAX_ITEMS`,
/// made as a list: see [`made`]).
fn add(a: &Value, b: &Value) -> Result<Value, Error> {
    check_add(a, b)?;
    let sum = native("+", a, b)?;
    if item_count(a).is_some() && item_count(b).is_some() {
        made(&sum)
    } else {
        Ok(sum)
    }
}

/// A lazy list or map made concrete (at most `MAX_ITEMS` entries). minijinja's `+`, `*` and
/// `chain` make views over their operands, and a view of a view costs a pass per level at
/// every use, even over nothing: `ns.l = ns.l + ns.l` sixty-four times over `[]` held nothing
/// and took 2^64 passes to show. Made lists cost their items, once.
fn made(value: &Value) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.take(MAX_ITEMS + 1).collect();
            if items.len() > MAX_ITEMS {
                return Err(too_many(items.len()));
            }
            Ok(Value::from(items))
        }
        ValueKind::Map => {
            let keys: Vec<Value> = value.try_iter()?.take(MAX_ITEMS + 1).collect();
            if keys.len() > MAX_ITEMS {
                return Err(too_many(keys.len()));
            }
            let entries: Vec<(Value, Value)> = keys
                .into_iter()
                .map(|k| {
                    let v = value.get_item(&k).unwrap_or_default();
                    (k, v)
                })
                .collect();
            Ok(Value::from_iter(entries))
        }
        _ => Ok(value.clone()),
    }
}

/// `a * b`: numbers multiply, a string or list repeats (within the limits), a repeated list
/// made as a list ([`made`]): minijinja's own repeat is lazy, and repeats of repeats would
/// multiply its passes unseen.
fn mul(a: &Value, b: &Value) -> Result<Value, Error> {
    check_mul(a, b)?;
    let product = native("*", a, b)?;
    if item_count(a).is_some() || item_count(b).is_some() {
        made(&product)
    } else {
        Ok(product)
    }
}

/// `a ~ b`: both shown as text, one after the other, within `MAX_TEXT`.
fn concat(a: &Value, b: &Value) -> Result<Value, Error> {
    let text = text_of(&[a, b])?;
    charge(text.len(), 0)?;
    Ok(Value::from(text))
}

/// Whether minijinja's `value in container` would show `value` as text longer than the
/// string `container` (it cannot be in it then; showing it could take gigabytes).
pub fn shown_longer_than_container(value: &Value, container: &Value) -> bool {
    match container.as_str() {
        Some(haystack) => value.as_str().is_none() && text_len(value, haystack.len()).is_none(),
        None => false,
    }
}

/// `value in container`: a string container is searched for the value's text, which is
/// measured first.
fn contains(value: &Value, container: &Value) -> Result<Value, Error> {
    if shown_longer_than_container(value, container) {
        return Ok(Value::from(false));
    }
    charge(0, 0)?;
    native("in", value, container)
}

/// Every value stored in a variable (`set`, `for`, `with`) nests at most `MAX_DEPTH` deep.
fn keep(value: Value) -> Result<Value, Error> {
    check_depth(&value, MAX_DEPTH)?;
    Ok(value)
}

/// A value stored in a namespace nests less deeply and holds no namespace; the pair comes back
/// as `[namespace, value]` for the compiler's `UnpackList` to put back in order.
fn keep_in_namespace(value: Value, ns: Value) -> Result<Value, Error> {
    check_depth(&value, MAX_DEPTH - 1)?;
    if holds_namespace(&value, MAX_DEPTH) {
        return Err(refused("a namespace cannot hold another namespace"));
    }
    Ok(Value::from(vec![ns, value]))
}
