//! Everything a tenant member writes into a workflow and the engine parses or evaluates
//! (definition documents, templates, expressions, cron schedules, durations) is held to one
//! property: any input gives an answer (a value within the limits, or an error) and never a
//! panic, an abort or an unbounded allocation. Generated inputs (proptest) explore the
//! space; the corpus in `tests/hostile/corpus/` keeps every attack that once worked, or would
//! work on an unbounded engine, as a regression.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{json, Value};
use usvc_workflow::definition::parse_duration;
use usvc_workflow::schedule::Schedule;
use usvc_workflow::template::{self, Checks, MAX_TEXT};
use usvc_workflow::Definition;

fn corpus(name: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/hostile/corpus")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// What a step's templates see: inputs with a string and a list worth multiplying.
fn context() -> Value {
    json!({
        "inputs": {"n": 5, "s": "x".repeat(1000), "list": (0..100).collect::<Vec<_>>()},
        "steps": {"start": {"output": {"n": 7}}},
    })
}

/// An answer is an error or a value no bigger than a template may make.
fn bounded(answer: &Result<Value, String>) -> bool {
    answer
        .as_ref()
        .map_or(true, |v| serde_json::to_vec(v).unwrap().len() <= MAX_TEXT)
}

#[test]
fn the_expression_corpus_is_refused_or_bounded() {
    for source in corpus("expressions.txt") {
        // At save: a static expression is evaluated within the save's budget.
        let _ = template::check_expression(&source, Checks::start());
        let answer = template::evaluate(&source, &context());
        assert!(bounded(&answer), "{source}: {answer:?}");
        let _ = template::holds(&source, &context());
    }
    // The issue's case: a constant oversize argument is refused at save...
    let attack = "inputs | tojson(indent=1000000000000000)";
    assert!(template::check_expression(attack, Checks::start()).is_err());
    // ...and one computed from the inputs passes the save and is refused when evaluated.
    let attack = "inputs | tojson(indent=inputs.n * 200000000000000)";
    assert!(template::check_expression(attack, Checks::start()).is_ok());
    let refused = template::evaluate(attack, &context()).unwrap_err();
    assert!(!refused.is_empty());
    // A static attack never gets past the save.
    assert!(template::check_expression("'x' * 1000000000", Checks::start()).is_err());
}

#[test]
fn the_template_corpus_is_refused_or_bounded() {
    for source in corpus("templates.txt") {
        let saved = template::check_template(&source, Checks::start());
        assert!(
            saved.is_err(),
            "a static attack is refused at save: {source}"
        );
        let answer = template::render(&Value::String(source.clone()), &context());
        assert!(bounded(&answer), "{source}: {answer:?}");
        assert!(answer.is_err(), "{source}");
    }
}

#[test]
fn the_cron_corpus_is_refused() {
    for cron in corpus("crons.txt") {
        assert!(Schedule::parse(&cron, None).is_err(), "{cron}");
    }
}

/// Pieces of the template language, weighted toward the ones that make big values.
fn expression() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1000".to_owned()),
        Just("1000000000".to_owned()),
        Just("1000000000000000".to_owned()),
        Just("99999999999999999999".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    let atom = prop_oneof![
        Just("inputs".to_owned()),
        Just("inputs.n".to_owned()),
        Just("inputs.s".to_owned()),
        Just("inputs.list".to_owned()),
        Just("steps.start.output".to_owned()),
        Just("'ab'".to_owned()),
        Just("none".to_owned()),
        Just("[1, 2, 3]".to_owned()),
        Just("{'a': 1}".to_owned()),
        number.clone().prop_map(|n| format!("range({n})")),
        number.clone(),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
    ];
    atom.prop_recursive(5, 48, 3, move |inner| {
        let n = number.clone();
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) ~ ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) * ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) + ({b})")),
            (inner.clone(), n.clone()).prop_map(|(a, n)| format!("({a}) | tojson(indent={n})")),
            (inner.clone(), n.clone()).prop_map(|(a, n)| format!("({a}) | indent({n})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) | join({b})")),
            inner.clone().prop_map(|a| format!("({a}) | list")),
            inner.clone().prop_map(|a| format!("({a}) | string")),
            inner.clone().prop_map(|a| format!("({a}) | tojson")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) | replace('a', {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a}) if ({b}) else ({c})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a})[{b}]")),
        ]
    })
}

/// Arbitrary JSON, with keys that are often the format's own field names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,30}".prop_map(Value::from),
        expression().prop_map(|e| Value::from(format!("{{{{ {e} }}}}"))),
        prop::sample::select(vec![
            "1s",
            "0s",
            "400d",
            "99999999999999999999ms",
            "* * * * *",
            "0 0 31 2 *"
        ])
        .prop_map(Value::from),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "id",
            "name",
            "kind",
            "with",
            "depends_on",
            "steps",
            "retry",
            "max_attempts",
            "timeout",
            "concurrency",
            "key",
            "limit",
            "triggers",
            "cron",
            "timezone",
            "event",
            "filter",
            "inputs",
            "schema",
            "on_failure",
            "expr",
            "url",
            "method",
            "body",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,10}",
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The documented examples, the starting points for mutation.
fn documented_examples() -> Vec<Value> {
    let doc = include_str!("../../../docs/workflows.md");
    doc.split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .map(|block| serde_yaml_ng::from_str(block).unwrap())
        .collect()
}

/// Every JSON pointer inside `value`.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(fields) => {
            for (k, v) in fields {
                pointers(
                    v,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_expressions_answer_within_the_limits(source in expression()) {
        let _ = template::check_expression(&source, Checks::start());
        let answer = template::evaluate(&source, &context());
        prop_assert!(bounded(&answer), "{}: {:?}", source, answer);
        let rendered = template::render(
            &json!({"v": format!("{{{{ {source} }}}}"), "t": format!("[{{{{ {source} }}}}]")}),
            &context(),
        );
        if let Ok(r) = rendered {
            // Each value within the limit (the evaluation as a whole within MAX_MADE_BYTES).
            prop_assert!(serde_json::to_vec(&r["v"]).unwrap().len() <= MAX_TEXT);
            prop_assert!(r["t"].as_str().is_some_and(|t| t.len() <= MAX_TEXT));
        }
    }

    #[test]
    fn arbitrary_text_is_never_a_crash(source in ".{0,200}") {
        let _ = template::check_template(&source, Checks::start());
        let _ = template::check_expression(&source, Checks::start());
        let _ = template::render(&Value::String(source.clone()), &context());
        let _ = Schedule::parse(&source, None);
        let _ = Schedule::parse("0 9 * * 1-5", Some(&source));
        if let Some(d) = parse_duration(&source) {
            prop_assert!(d.as_secs() <= 366 * 24 * 3600, "{} is at most a year", source);
        }
    }

    #[test]
    fn a_mutated_definition_is_saved_or_refused_never_a_crash(
        example in 0usize..7,
        at in any::<prop::sample::Index>(),
        replacement in json_value(),
    ) {
        let mut document = documented_examples().swap_remove(example);
        let mut all = Vec::new();
        pointers(&document, "", &mut all);
        let pointer = at.get(&all).clone();
        match document.pointer_mut(&pointer) {
            Some(slot) => *slot = replacement,
            None => document = replacement,
        }
        let _ = Definition::from_document(document);
    }

    #[test]
    fn a_generated_cron_either_fires_or_is_refused(
        fields in prop::collection::vec(prop_oneof![
            Just("*".to_owned()), Just("*/7".to_owned()), Just("0".to_owned()), Just("31".to_owned()),
            Just("1-5".to_owned()), Just("5-1".to_owned()), Just("2,30".to_owned()), Just("L".to_owned()),
            "[0-9]{1,3}", "[0-9]{1,2}-[0-9]{1,2}/[0-9]{1,2}",
        ], 5),
    ) {
        let cron = fields.join(" ");
        if let Ok(schedule) = Schedule::parse(&cron, Some("Europe/Paris")) {
            prop_assert!(schedule.next_after(chrono::Utc::now()).is_some(), "{} fires", cron);
        }
    }
}
