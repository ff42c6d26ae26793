//! Templates: what they render, and that no template can crash, starve or outgrow a worker.
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
    assert!(check_template("{{ inputs.n ", Checks::start())
        .unwrap_err()
        .contains("syntax error"));
    assert!(check_expression("inputs.n >", Checks::start())
        .unwrap_err()
        .contains("syntax error"));
    assert!(check_template("{% for x in %}", Checks::start()).is_err());
    let refs =
        check_template("{% for t in inputs.tags %}{{ t }}{{ steps.fetch.output.id }}{% endfor %}{{ range(3) | length }}", Checks::start())
            .unwrap();
    assert_eq!(refs.steps.iter().collect::<Vec<_>>(), ["fetch"]);
    assert_eq!(refs.roots.iter().collect::<Vec<_>>(), ["inputs", "steps"]);
    let refs = check_expression("input.n > 1", Checks::start()).unwrap();
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

/// Renders `source` as one text template against `ctx()`.
fn text(source: &str) -> Result<String, String> {
    // Text around the template keeps a sole `{{ … }}` from being evaluated as JSON.
    match render(&json!(format!("<{source}>")), &ctx())? {
        Value::String(s) => Ok(s[1..s.len() - 1].to_owned()),
        other => Ok(other.to_string()),
    }
}

#[test]
fn the_usual_filters_operators_and_namespaces_still_work() {
    let cases = [
        ("{{ inputs.tags | tojson }}", r#"["a","b"]"#),
        ("{{ {'a': 1} | tojson(indent=2) }}", "{\n  \"a\": 1\n}"),
        ("{{ '<b>' | tojson }}", r#""\u003cb\u003e""#),
        ("{{ 'a,b' | split(',') | join('-') }}", "a-b"),
        ("{{ 'Hello ' ~ inputs.name ~ '!' }}", "Hello Ada!"),
        ("{{ [1, 2] + [3] }}", "[1, 2, 3]"),
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ 2 * 'ab' }}", "abab"),
        ("{{ [0] * 3 }}", "[0, 0, 0]"),
        ("{{ 6 * 7 }} {{ 1.5 + 1 }} {{ 'a' + 'b' }}", "42 2.5 ab"),
        ("{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'x' not in 'abc' }}", "True True True"),
        ("{{ dict(a=1).a }} {{ range(3) | list }} {{ [3, 1, 2] | sort }}", "1 [0, 1, 2] [1, 2, 3]"),
        ("{{ [{'n': 1}, {'n': 2}] | map(attribute='n') | sum }}", "3"),
        ("{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | join(',') }}", "1,2"),
        ("{{ 'a\nb' | indent(2) }}", "a\n  b"),
        ("{{ 1 < 2 < 3 }} {{ 'A' is upper }} {{ 'abc' is startingwith 'a' }} {{ 1 is in [1] }}", "True True True True"),
        ("{% set ns = namespace(total=0) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}", "6"),
        ("{% for t in inputs.tags %}{{ loop.index }}{{ t | upper }}{% endfor %}", "1A2B"),
        ("{% set x %}in{% endset %}{{ x }}{% filter upper %}side{% endfilter %}", "inSIDE"),
        ("{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ range(4) | slice(2) | list }}", "[[1, 2], [3, 4], [5]] [[0, 1], [2, 3]]"),
        ("{{ 'x' | replace('x', 'yy') }} {{ inputs | pprint | length > 0 }}", "yy True"),
    ];
    for (source, expected) in cases {
        assert_eq!(text(source).as_deref(), Ok(expected), "{source}");
    }
    assert_eq!(
        render(&json!("{{ [{'a': 1}] + inputs.tags }}"), &ctx()).unwrap(),
        json!([{"a": 1}, "a", "b"])
    );
}

/// Each of these once aborted the process (an allocation that cannot succeed, or a stack
/// overflow) or held a worker for minutes. Now each is a clear error, and this test process
/// is still alive to check the next.
#[test]
fn hostile_templates_fail_with_a_clear_error_instead_of_crashing() {
    let long_raw = format!(
        "{{% for i in range(10000) %}}{}{{% endfor %}}",
        "x".repeat(200)
    );
    let cases: Vec<(String, &str)> = vec![
        ("{{ inputs | tojson(indent=1000000000000000) }}".into(), "indent"),
        ("{{ inputs | tojson(1000000000000000) }}".into(), "indent"),
        ("{{ [1] | batch(1000000000000000) }}".into(), "items"),
        ("{{ range(10) | slice(1000000000000) | length }}".into(), "items"),
        ("{{ 'x' | indent(1000000000000) }}".into(), "indent"),
        ("{{ '%999999999999s' | format(1) }}".into(), "unknown filter"),
        ("{{ ('x' * 100000000) | length }}".into(), "bytes"),
        ("{{ 'abc' | replace('', 'x' * 500000) }}".into(), "bytes"),
        ("{{ (['x' * 100000] * 10000) | join }}".into(), "bytes"),
        ("{{ ['x' * 100000] * 10000 }}".into(), "bytes"),
        ("{{ (['x' * 100000] * 10000) | upper }}".into(), "bytes"),
        ("{{ (['x' * 100000] * 10000) | string }}".into(), "bytes"),
        ("{{ (['x' * 100000] * 10000) is startingwith 'x' }}".into(), "bytes"),
        ("{{ range(100000) | list | length }}".into(), "items"),
        ("{{ ([0] * 10000) * 10000 }}".into(), "items"),
        ("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}".into(), "namespace"),
        ("{% set ns = namespace(a=1) %}{% set ns.l = [ns] %}{{ ns }}".into(), "namespace"),
        ("{% set ns = namespace(p=none) %}{% for i in range(5000) %}{% set ns.p = namespace(p=ns.p) %}{% endfor %}".into(), "namespace"),
        ("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}".into(), "deep"),
        ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}".into(), "bytes"),
        ("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}".into(), "items"),
        ("{% set ns = namespace(s='x' * 1000000) %}{% for i in range(9000) %}{% set ns.t = ns.s ~ i %}{% endfor %}".into(), "bytes of text"),
        (long_raw, "rendered text"),
        ("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}".into(), "fuel"),
        ("{{ __usvc_add(1, 2) }}".into(), "reserved"),
        ("{{ debug() }}".into(), "unknown"),
        ("{{ lipsum(1000000000) }}".into(), "unknown"),
        ("{{ inputs.n in [7] == true }}".into(), "chained"),
    ];
    for (source, expected) in &cases {
        let err = text(source).expect_err(source);
        assert!(err.contains(expected), "{source}: {err}");
    }
    // A sole expression's value is measured as JSON before it is made.
    let err = render(&json!("{{ ['x' * 100000] * 10000 }}"), &ctx()).unwrap_err();
    assert!(err.contains("bytes"), "{err}");
    let err = evaluate("['x' * 100000] * 10000", &ctx()).unwrap_err();
    assert!(err.contains("bytes"), "{err}");
    let err = holds("(['x' * 100000] * 10000) | join | length > 0", &ctx()).unwrap_err();
    assert!(err.contains("bytes"), "{err}");
    // A value shown inside a string container's `in` is not made at all.
    assert_eq!(
        text("{{ (['x' * 100000] * 10000) in 'abc' }}").as_deref(),
        Ok("False")
    );
}

#[test]
fn one_render_shares_one_budget_across_its_strings() {
    // Each string alone is within the limits; together they make more than one evaluation may.
    let one = "{{ ('x' * 1000000) | length }}";
    let with = Value::Array(vec![json!(one); 20]);
    let err = render(&with, &ctx()).unwrap_err();
    assert!(err.contains("bytes of text"), "{err}");
}

#[test]
fn a_save_evaluates_static_templates_and_refuses_what_would_fail() {
    let checks = Checks::start();
    let err = check_template("{{ 'x' * 10000000 }}", checks).unwrap_err();
    assert!(err.contains("bytes"), "{err}");
    let err = check_expression("range(100000) | length", checks).unwrap_err();
    assert!(err.contains("items"), "{err}");
    let err = check_template("{{ inputs.x | frobnicate }}", checks).unwrap_err();
    assert!(err.contains("unknown filter `frobnicate`"), "{err}");
    let err = check_expression("inputs.x is frobnicated", checks).unwrap_err();
    assert!(err.contains("unknown test"), "{err}");
    // A size written as a constant is checked even where the value filtered is not known yet.
    for source in [
        "inputs | tojson(indent=1000000000000000)",
        "inputs | tojson(1000000000000000)",
        "inputs.text | indent(1000000)",
        "inputs.text | indent(width=1000000)",
        "inputs.list | batch(1000000000000000)",
        "inputs.list | slice(count=1000000000000000)",
    ] {
        let err = check_expression(source, checks).expect_err(source);
        assert!(
            err.contains("indent") || err.contains("items"),
            "{source}: {err}"
        );
    }
    // Otherwise templates that read something are only compiled: they meet their limits when
    // they run.
    assert!(check_expression("inputs | tojson(indent=inputs.n)", checks).is_ok());
    assert!(check_expression("inputs | tojson(indent=2)", checks).is_ok());
    assert!(check_template(
        "{{ 'static' | upper }} {% for i in range(3) %}{{ i }}{% endfor %}",
        checks
    )
    .is_ok());
}

/// minijinja folds constant expressions while compiling; that folding is checked first, so a
/// save cannot make the compiler allocate gigabytes.
#[test]
fn constant_folding_is_bounded_before_it_runs() {
    let checks = Checks::start();
    for source in [
        "{{ ('x' * 100000000) ~ ('x' * 100000000) }}",
        "{{ inputs.a ~ ('x' * 100000000) }}",
        "{% if ([0] * 100000000) ~ 'x' %}{% endif %}",
        "{% for i in range(3) if ('y' * 2000000) %}{% endfor %}",
    ] {
        let err = check_template(source, checks).expect_err(source);
        assert!(
            err.contains("bytes")
                || err.contains("items")
                || err.contains("refused")
                || err.contains("repeated at most"),
            "{source}: {err}"
        );
        let err = text(source).expect_err(source);
        assert!(!err.is_empty());
    }
    assert_eq!(
        check_expression("(1 + 2 * 3) ~ 'x' in 'a7x'", checks).map(|r| r.roots.len()),
        Ok(0)
    );
}

/// A repeat costs a pass per repeat at every use, even over an empty list: `range(0) * 10**15`
/// held nothing and kept a worker busy for ever wherever it was shown, listed or searched.
/// The count is bounded, a repeated list is made as a list at run time (so repeats of repeats
/// cannot multiply unseen), and a constant may not repeat a repeat.
#[test]
fn repeating_a_list_is_bounded_by_the_count_not_the_items() {
    for source in [
        "range(0) * 1000000000000000",
        "(range(0) * 1000000000000000) | first",
        "[] * 1000000000000000",
    ] {
        let err = evaluate(source, &ctx()).expect_err(source);
        assert!(err.contains("repeated at most"), "{source}: {err}");
    }
    let err = check_expression("(([] * 10000) * 10000) * 10000", Checks::start()).unwrap_err();
    assert!(err.contains("repeated again"), "{err}");
    // `+` chains lazily in minijinja too: doubling an empty list in a loop held nothing and
    // took 2^64 passes to show; `chain` likewise. Both are made lists now.
    for source in [
        "{% set ns = namespace(l=[]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l }}",
        "{% set ns = namespace(l=[]) %}{% for i in range(64) %}{% set ns.l = ns.l | chain(ns.l) %}{% endfor %}{{ ns.l }}",
    ] {
        assert_eq!(text(source).as_deref(), Ok("[]"), "{source}");
    }
    let maps = "{% set ns = namespace(m={}) %}{% for i in range(3000) %}{% set ns.m = ns.m | chain({}) %}{% endfor %}{{ ns.m | length }}";
    assert_eq!(text(maps).as_deref(), Ok("0"));
    // Within the count, repeats of repeats are made lists, whatever their nesting.
    assert_eq!(
        evaluate("((range(0) * 10000) * 10000) * 10000", &ctx()),
        Ok(json!([]))
    );
    assert_eq!(
        evaluate("range(2) * inputs.n", &ctx()),
        Ok(json!([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]))
    );
}
