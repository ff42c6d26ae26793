//! Request bodies that are whole documents (workflow definitions), as JSON or YAML, read
//! within a budget of values and text.
//!
//! YAML aliases repeat what an anchor holds wherever they appear, so a few hundred bytes of
//! nested aliases expand to billions of values ("billion laughs"); one anchor holding a long
//! string, referenced a hundred thousand times, to gigabytes. serde_yaml_ng caps the number of
//! alias jumps, not what each jump repeats. So the document is built through a visitor that
//! counts every value and every byte of text as the parser hands them over, alias expansions
//! included, and stops at the first past the budget: the refusal comes quickly, at bounded
//! memory. Nesting is capped by both parsers at 128 levels.

use std::cell::Cell;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::problem::Problem;

/// The most values (scalars, lists and maps) one document may hold, aliases expanded.
pub const MAX_VALUES: usize = 100_000;
/// The most text (strings and keys) one document may hold, aliases expanded.
pub const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// The definition document in the body: JSON (the default), or YAML with
/// `Content-Type: application/yaml` (also `application/x-yaml`, `text/yaml`). Either becomes
/// the same JSON value, so both formats are validated and stored alike.
pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Value, Box<Problem>> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let budget = Budget::default();
    let parsed = match media.as_str() {
        "application/json" | "" => {
            let mut de = serde_json::Deserializer::from_slice(body);
            budget
                .read(&mut de)
                .and_then(|v| de.end().map(|()| v))
                .map_err(|e| ("malformed_json", format!("the body is not valid JSON: {e}")))
        }
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            serde_yaml_ng::Deserializer::from_slice(body)
                .next()
                .ok_or_else(|| serde_yaml_ng::Error::custom("the body holds no document"))
                .and_then(|de| budget.read(de))
                .map_err(|e| ("malformed_yaml", format!("the body is not valid YAML: {e}")))
        }
        other => {
            return Err(Box::new(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("`{other}` is not accepted: send application/json or application/yaml"),
            )))
        }
    };
    parsed.map_err(|(code, detail)| Box::new(Problem::new(StatusCode::BAD_REQUEST, code, detail)))
}

/// What one document has used so far.
#[derive(Default)]
struct Budget {
    values: Cell<usize>,
    text: Cell<usize>,
}

impl Budget {
    fn read<'de, D: Deserializer<'de>>(&self, de: D) -> Result<Value, D::Error> {
        Node(self).deserialize(de)
    }

    fn value<E: serde::de::Error>(&self) -> Result<(), E> {
        let n = self.values.get() + 1;
        self.values.set(n);
        if n > MAX_VALUES {
            return Err(E::custom(format!(
                "it holds more than {MAX_VALUES} values (counting what YAML aliases repeat)"
            )));
        }
        Ok(())
    }

    fn text<E: serde::de::Error>(&self, len: usize) -> Result<(), E> {
        let n = self.text.get().saturating_add(len);
        self.text.set(n);
        if n > MAX_TEXT_BYTES {
            return Err(E::custom(format!(
                "it holds more than {MAX_TEXT_BYTES} bytes of text (counting what YAML aliases repeat)"
            )));
        }
        Ok(())
    }
}

/// One value of the document, built as JSON while it is counted.
#[derive(Clone, Copy)]
struct Node<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.value()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.value()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.value()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.value()?;
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.value()?;
        self.0.text(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.0.value()?;
        self.0.text(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.0.value()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.value()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.value()?;
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.0.text(key.len())?;
            let value = map.next_value_seed(self)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn yaml(body: &str) -> Result<Value, Box<Problem>> {
        let req = TestRequest::default()
            .insert_header(("content-type", "application/yaml"))
            .to_http_request();
        parse(&req, body.as_bytes())
    }

    #[test]
    fn yaml_and_json_read_alike() {
        let y = yaml("name: x\nsteps:\n  - {id: a, kind: noop}\nn: 1.5\nok: true\nnone: null\n")
            .unwrap();
        let req = TestRequest::default().to_http_request();
        let j = parse(
            &req,
            br#"{"name":"x","steps":[{"id":"a","kind":"noop"}],"n":1.5,"ok":true,"none":null}"#,
        )
        .unwrap();
        assert_eq!(y, j);
        // Anchors and aliases within the budget are fine (a shared retry policy).
        let y =
            yaml("base: &r {max_attempts: 3}\nsteps:\n  - {retry: *r}\n  - {retry: *r}\n").unwrap();
        assert_eq!(y["steps"][1]["retry"]["max_attempts"], 3);
    }

    #[test]
    fn billion_laughs_are_refused_quickly() {
        let mut lines =
            vec!["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]".to_owned()];
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let refs = [prev.as_str(); 10].join(", ");
            lines.push(format!("a{i}: &a{i} [{refs}]"));
        }
        let doc = lines.join("\n");
        let problem = yaml(&doc).unwrap_err();
        assert_eq!(problem.status, StatusCode::BAD_REQUEST.as_u16());
        assert!(problem.detail.contains("values"), "{}", problem.detail);
        // Refused at the count: at most MAX_VALUES values were ever built.
    }

    #[test]
    fn a_long_string_repeated_by_aliases_is_refused() {
        let long = "x".repeat(100_000);
        let refs = ["*s"; 100].join(", ");
        let problem = yaml(&format!("s: &s {long}\nmany: [{refs}]\n")).unwrap_err();
        assert!(
            problem.detail.contains("bytes of text"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        assert!(yaml(&deep).is_err());
        let req = TestRequest::default().to_http_request();
        assert!(parse(&req, deep.as_bytes()).is_err());
    }

    mod properties {
        //! Generated documents: every body is a value within the budget or a 4xx problem,
        //! whatever its anchors, aliases, nesting or bytes.

        use std::fmt::Write as _;

        use proptest::prelude::*;

        use super::*;

        /// The size of `value` as JSON, which the budget bounds.
        fn size(value: &Value) -> usize {
            serde_json::to_vec(value).map_or(usize::MAX, |b| b.len())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn any_bytes_are_a_value_or_a_client_error(
                body in prop::collection::vec(any::<u8>(), 0..400),
                as_yaml in any::<bool>(),
            ) {
                let req = TestRequest::default()
                    .insert_header(("content-type", if as_yaml { "application/yaml" } else { "application/json" }))
                    .to_http_request();
                if let Err(problem) = parse(&req, &body) {
                    prop_assert!((400..500).contains(&problem.status), "{problem:?}");
                }
            }

            /// Layer upon layer of aliases to the layer below, `width` each: a small text that
            /// would expand to width^depth values.
            #[test]
            fn nested_aliases_are_refused_or_fit_the_budget(
                depth in 1usize..12,
                width in 1usize..12,
                flow in any::<bool>(),
            ) {
                let mut text = String::from("l0: &l0 [\"lol\"]\n");
                for level in 1..=depth {
                    let refs = vec![format!("*l{}", level - 1); width].join(", ");
                    if flow {
                        let _ = writeln!(text, "l{level}: &l{level} [{refs}]");
                    } else {
                        let _ = writeln!(text, "l{level}: &l{level}");
                        for _ in 0..width {
                            let _ = writeln!(text, "  - *l{}", level - 1);
                        }
                    }
                }
                match yaml(&text) {
                    Ok(value) => prop_assert!(size(&value) <= MAX_TEXT_BYTES, "{} bytes", size(&value)),
                    Err(problem) => prop_assert_eq!(problem.status, 400, "{:?}", problem),
                }
            }

            #[test]
            fn deep_nesting_is_refused_or_read(depth in 1usize..400, yaml_flow in any::<bool>()) {
                let body = if yaml_flow {
                    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
                } else {
                    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
                };
                let answer = if yaml_flow { yaml(&body) } else {
                    parse(&TestRequest::default().to_http_request(), body.as_bytes())
                };
                if depth <= 100 {
                    prop_assert!(answer.is_ok(), "{} levels are fine", depth);
                } else if let Err(problem) = answer {
                    prop_assert_eq!(problem.status, 400);
                }
            }
        }
    }
}
