//! JSON Schemas that tenants write (a workflow's `inputs`, an approval's `form`): compiled
//! within bounds, and applied with a bounded report.
//!
//! A schema is code a tenant member hands the service to run. The `jsonschema` crate's
//! default `pattern` engine backtracks (`^(a+)+$` against a long string of `a`s followed by `!`
//! takes time exponential in its length), and a `$ref` that leads back to itself without
//! consuming the instance (`{"anyOf": [{"$ref": "#"}]}`) makes compiling never end while its
//! memory grows. So: patterns use the `regex` engine (linear time; no look-around or
//! back-references), references (`$ref`, `$dynamicRef`, `$recursiveRef`) are refused, and a
//! schema is capped in size and depth. Without references a schema is a tree, and checking a
//! value visits each of its parts at most once per part of the value.

use jsonschema::{PatternOptions, Validator};
use serde_json::Value;
use usvc_core::{CoreError, FieldError};

/// The most a schema may weigh, as compact JSON.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// How deeply a schema may nest.
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// The mismatches one check reports (the first ones, in document order).
pub const MAX_REPORTED: usize = 50;
/// The compiled size a `pattern` may take (the `regex` crate's own limit is 10 MiB).
const MAX_PATTERN_BYTES: usize = 1024 * 1024;

/// The keywords that make a schema refer to (a part of) itself.
const REFERENCES: [&str; 3] = ["$ref", "$dynamicRef", "$recursiveRef"];

/// Compiles a schema a tenant wrote; the error says what is wrong, to put beside its field.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("must be a JSON Schema object".into());
    }
    let size = serde_json::to_vec(schema).map_or(usize::MAX, |b| b.len());
    if size > MAX_SCHEMA_BYTES {
        return Err(format!(
            "is {size} bytes as JSON; a schema may be at most {MAX_SCHEMA_BYTES}"
        ));
    }
    shape(schema, 0)?;
    jsonschema::options()
        .with_pattern_options(
            PatternOptions::regex()
                .size_limit(MAX_PATTERN_BYTES)
                .dfa_size_limit(MAX_PATTERN_BYTES),
        )
        .build(schema)
        .map_err(|e| format!("is not a valid JSON Schema: {e}"))
}

/// Refuses references and nesting past `MAX_SCHEMA_DEPTH`.
fn shape(value: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(format!("nests more than {MAX_SCHEMA_DEPTH} levels deep"));
    }
    match value {
        Value::Object(fields) => {
            if let Some(key) = REFERENCES.iter().find(|k| fields.contains_key(**k)) {
                return Err(format!(
                    "uses `{key}`; references are not accepted here (write the schema out)"
                ));
            }
            fields.values().try_for_each(|v| shape(v, depth + 1))
        }
        Value::Array(items) => items.iter().try_for_each(|v| shape(v, depth + 1)),
        _ => Ok(()),
    }
}

/// Checks `value` against a saved schema: every mismatch (the first `MAX_REPORTED`) is a
/// `Validation` error naming its place under `root` (`inputs.customer.email`, `data.amount`).
pub fn check(schema: &Value, value: &Value, root: &str) -> Result<(), CoreError> {
    let validator = compile(schema).map_err(|e| {
        CoreError::Internal(format!("a saved `{root}` schema does not compile: {e}"))
    })?;
    let errors: Vec<FieldError> = validator
        .iter_errors(value)
        .take(MAX_REPORTED)
        .map(|e| FieldError {
            field: format!("{root}{}", e.instance_path.to_string().replace('/', ".")),
            message: e.to_string(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CoreError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordinary_schemas_compile_and_report_each_field() {
        let schema = json!({"type": "object", "required": ["email"],
            "properties": {"email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
                           "n": {"type": "integer", "maximum": 10}}});
        assert!(compile(&schema).is_ok());
        let Err(CoreError::Validation(errors)) =
            check(&schema, &json!({"email": "nope", "n": 11}), "inputs")
        else {
            panic!("mismatches are a validation error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"inputs.email") && fields.contains(&"inputs.n"),
            "{fields:?}"
        );
    }

    #[test]
    fn self_references_are_refused_before_they_are_compiled() {
        // This one makes jsonschema's compiler run until memory runs out.
        let looping = json!({"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "string"}]}},
                             "$ref": "#/$defs/a"});
        assert!(compile(&looping).unwrap_err().contains("$ref"));
        assert!(compile(&json!({"items": {"$dynamicRef": "#x"}}))
            .unwrap_err()
            .contains("$dynamicRef"));
    }

    #[test]
    fn patterns_run_in_linear_time() {
        // Catastrophic for a backtracking engine; the `regex` engine answers in one pass.
        let schema = json!({"type": "string", "pattern": "^(a+)+$"});
        let attack = format!("{}!", "a".repeat(100_000));
        assert!(check(&schema, &json!(attack), "inputs").is_err());
        // Back-references need backtracking: refused when saved.
        assert!(compile(&json!({"pattern": "(a)\\1"})).is_err());
    }

    #[test]
    fn schemas_are_capped_in_size_and_depth_and_reports_in_length() {
        let mut deep = json!({"type": "string"});
        for _ in 0..40 {
            deep = json!({"items": deep});
        }
        assert!(compile(&deep).unwrap_err().contains("levels deep"));
        let wide: serde_json::Map<String, Value> = (0..5000)
            .map(|i| (format!("field{i}"), json!({"type": "string"})))
            .collect();
        assert!(compile(&json!({"properties": wide}))
            .unwrap_err()
            .contains("bytes"));
        let schema = json!({"type": "array", "items": {"type": "string"}});
        let Err(CoreError::Validation(errors)) = check(&schema, &json!(vec![1; 10_000]), "inputs")
        else {
            panic!("mismatches are a validation error");
        };
        assert_eq!(errors.len(), MAX_REPORTED);
    }
}
