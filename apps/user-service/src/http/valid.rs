//! Request inputs checked by `validator` derives (`#[derive(Validate)]` on the HTTP input
//! types), their problems reported like every other validation problem: `400 validation`
//! with one `errors[]` entry per field, named by its path in the request (`ids`,
//! `params.user_id`, `rows[3].email`).
//!
//! What a derive states (lengths, ranges, a rule across two fields) is checked here, before
//! the domain runs; what needs the domain's knowledge (does this user exist, is this name
//! taken) stays in the domain. Each rule carries its own message.

use usvc_core::{CoreError, FieldError};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

/// `Ok` when `input` holds every rule its derive states; otherwise every broken rule at once.
pub fn check<T: Validate>(input: &T) -> Result<(), CoreError> {
    input.validate().map_err(|errors| {
        let mut fields = Vec::new();
        flatten(&errors, "", &mut fields);
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        CoreError::Validation(fields)
    })
}

/// Every error of `errors` under `prefix`, with its field path.
fn flatten(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (name, kind) in errors.errors() {
        // Rules on the whole struct (`#[validate(schema(…))]`) name their field in `code`.
        let path = |field: &str| {
            if prefix.is_empty() {
                field.to_owned()
            } else {
                format!("{prefix}.{field}")
            }
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let field = if name == "__all__" {
                        path(&error.code)
                    } else {
                        path(name)
                    };
                    let message = error.message.as_deref().map_or_else(
                        || format!("breaks the rule `{}`", error.code),
                        str::to_owned,
                    );
                    out.push(FieldError { field, message });
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, &path(name), out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(inner, &format!("{}[{index}]", path(name)), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use validator::{Validate, ValidationError};

    use super::*;

    #[derive(Validate)]
    #[validate(schema(function = "ordered"))]
    struct Range {
        from: u32,
        until: u32,
    }

    fn ordered(r: &Range) -> Result<(), ValidationError> {
        if r.from < r.until {
            Ok(())
        } else {
            Err(ValidationError::new("until").with_message("must be after `from`".into()))
        }
    }

    #[derive(Validate, serde::Serialize)]
    struct Row {
        #[validate(length(min = 1, message = "must not be empty"))]
        email: String,
    }

    #[derive(Validate)]
    struct Request {
        #[validate(length(min = 1, max = 2, message = "must hold 1-2 rows"), nested)]
        rows: Vec<Row>,
        #[validate(range(max = 30, message = "must be 0-30 seconds"))]
        wait: Option<u64>,
        #[validate(nested)]
        range: Range,
    }

    fn fields(request: &Request) -> Vec<(String, String)> {
        match check(request) {
            Ok(()) => vec![],
            Err(CoreError::Validation(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn every_broken_rule_is_named_by_its_path() {
        let good = Request {
            rows: vec![Row {
                email: "a@example.com".into(),
            }],
            wait: Some(30),
            range: Range { from: 1, until: 2 },
        };
        assert!(fields(&good).is_empty());
        let bad = Request {
            rows: vec![
                Row {
                    email: "a@example.com".into(),
                },
                Row {
                    email: String::new(),
                },
            ],
            wait: Some(31),
            range: Range { from: 2, until: 2 },
        };
        assert_eq!(
            fields(&bad),
            [
                ("range.until".into(), "must be after `from`".into()),
                ("rows[1].email".into(), "must not be empty".into()),
                ("wait".into(), "must be 0-30 seconds".into()),
            ]
        );
        let too_many = Request {
            rows: (0..3)
                .map(|_| Row {
                    email: "a@example.com".into(),
                })
                .collect(),
            ..good
        };
        assert_eq!(
            fields(&too_many),
            [("rows".to_owned(), "must hold 1-2 rows".to_owned())]
        );
    }
}
