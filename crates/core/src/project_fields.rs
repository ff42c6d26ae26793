//! The one input shape of a project: its editable fields as every caller sends them — the
//! HTTP create, `PATCH` and `PUT` bodies, a workflow step's `with`, a restore of an old
//! version — with the rules they are held to and the JSON Schema that states those rules.
//!
//! Adding an editable field to a project means: the field on [`Project`] (and its default in
//! [`Project::new`]), the field here (struct, [`ProjectFields::NAMES`], [`ProjectFields::of`],
//! [`ProjectFields::or`], its check in [`ProjectFields::apply`] and its entry in
//! [`ProjectFields::json_schema`]), a column in each store; the unit tests below fail until the
//! lists agree. `docs/architecture.md` has the whole recipe.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::{CoreError, FieldError, Project, Visibility};

/// Longest name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5000;
/// Most tags on a project.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 50;
/// Largest `settings` document, serialised.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// A name as [`ProjectFields::apply`] accepts it: no control characters and at least one
/// character that is not white space.
const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A tag as [`ProjectFields::apply`] accepts it: 1–50 characters once trimmed, no control
/// characters.
const TAG_PATTERN: &str = "^\\s*[^\\s\\u0000-\\u001f\\u007f-\\u009f](?:[^\\u0000-\\u001f\\u007f-\\u009f]{0,48}[^\\s\\u0000-\\u001f\\u007f-\\u009f])?\\s*$";

/// The editable fields of a project. `None` (absent) leaves a field as it is, or at its
/// default on creation; `null` returns `description`, `tags` and `settings` to their defaults
/// and is the same as absent for `name` and `visibility`. Unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFields {
    /// Display name, unique in the tenant (1–200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text (at most 5000 characters).
    #[serde(default, deserialize_with = "null_is_default")]
    pub description: Option<String>,
    /// `private` or `tenant`. `null` is the same as absent: a visibility is never widened by
    /// a value that went missing (a template input left out, a client's unset field).
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Labels (at most 20, each 1–50 characters, no control characters; repeats dropped).
    #[serde(default, deserialize_with = "null_is_default")]
    pub tags: Option<Vec<String>>,
    /// A JSON object of at most 16 KiB; replaces the stored one.
    #[serde(default, deserialize_with = "null_is_empty_object")]
    pub settings: Option<Value>,
}

/// What a body or a step asks of the fields: how [`ProjectFields::json_schema`] states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsUse {
    /// A new project: `name` required.
    Create,
    /// A change: every field optional, absent ones left as they are.
    Change,
    /// A replacement: `name` required, absent fields return to their defaults.
    Replace,
    /// A project as it is (the representation): every field present, none `null`.
    Stored,
}

impl ProjectFields {
    /// The fields' names as the API spells them, in the struct's order.
    pub const NAMES: [&'static str; 5] = ["name", "description", "visibility", "tags", "settings"];

    /// Every field of `project`, set: what restoring it would apply.
    pub fn of(project: &Project) -> Self {
        let Project {
            name,
            description,
            visibility,
            tags,
            settings,
            ..
        } = project.clone();
        Self {
            name: Some(name),
            description: Some(description),
            visibility: Some(visibility),
            tags: Some(tags),
            settings: Some(settings),
        }
    }

    /// These fields, with the ones not set taken from `fallback`.
    #[must_use]
    pub fn or(self, fallback: Self) -> Self {
        Self {
            name: self.name.or(fallback.name),
            description: self.description.or(fallback.description),
            visibility: self.visibility.or(fallback.visibility),
            tags: self.tags.or(fallback.tags),
            settings: self.settings.or(fallback.settings),
        }
    }

    /// A replacement: every field set, the absent ones at their defaults (those of
    /// [`Project::new`]); `name`, which has no default, is required.
    pub fn replacement(self) -> Result<Self, CoreError> {
        if self.name.is_none() {
            return Err(CoreError::invalid("name", "is required in a replacement"));
        }
        Ok(self.or(Self::defaults()))
    }

    /// What a request with these fields asks, for an idempotency key's fingerprint: the set
    /// fields that differ from their defaults, as a JSON object. Absent, `null` and an explicit
    /// default ask the same and give the same fingerprint; a field added later (at its default)
    /// leaves the fingerprints of requests that do not send it unchanged.
    pub fn fingerprint(&self) -> Value {
        let mut asked = serde_json::to_value(self).unwrap_or_default();
        let defaults = serde_json::to_value(Self::defaults()).unwrap_or_default();
        if let Some(object) = asked.as_object_mut() {
            object.retain(|name, value| !value.is_null() && defaults.get(name) != Some(value));
        }
        asked
    }

    /// Every field but `name` at its default (those of [`Project::new`]).
    fn defaults() -> Self {
        Self {
            name: None,
            ..Self::of(&Project::new(
                crate::TenantId::new(),
                crate::UserId::new(),
                chrono::DateTime::UNIX_EPOCH,
            ))
        }
    }

    /// Applies the set fields to `project`, validated, and returns the names of the fields
    /// that really changed; every problem is reported at once, and nothing is applied to a
    /// field with a problem.
    pub fn apply(self, project: &mut Project) -> Result<Vec<&'static str>, CoreError> {
        // Every field named, so a new one does not compile until it is applied here.
        let Self {
            name,
            description,
            visibility,
            tags,
            settings,
        } = self;
        let mut errors = Vec::new();
        let mut changed = Vec::new();
        if let Some(name) = name {
            // The limit holds for the name as sent (as `/openapi.json` states it).
            let bad = name.chars().count() > MAX_NAME || has_control(&name);
            let name = name.trim().to_owned();
            if name.is_empty() || bad {
                push(
                    &mut errors,
                    "name",
                    format!("must be 1-{MAX_NAME} characters, without control characters"),
                );
            } else if name != project.name {
                project.name = name;
                changed.push("name");
            }
        }
        if let Some(description) = description {
            let too_long = description.chars().count() > MAX_DESCRIPTION;
            let description = description.trim().to_owned();
            if too_long {
                push(
                    &mut errors,
                    "description",
                    format!("must be at most {MAX_DESCRIPTION} characters"),
                );
            } else if description != project.description {
                project.description = description;
                changed.push("description");
            }
        }
        if let Some(visibility) = visibility {
            if visibility != project.visibility {
                project.visibility = visibility;
                changed.push("visibility");
            }
        }
        if let Some(tags) = tags {
            match tags_of(tags) {
                Ok(tags) if tags != project.tags => {
                    project.tags = tags;
                    changed.push("tags");
                }
                Ok(_) => {}
                Err(message) => push(&mut errors, "tags", message),
            }
        }
        if let Some(settings) = settings {
            if !settings.is_object() {
                push(&mut errors, "settings", "must be a JSON object".into());
            } else if settings.to_string().len() > MAX_SETTINGS_BYTES {
                push(
                    &mut errors,
                    "settings",
                    format!("must be at most {MAX_SETTINGS_BYTES} bytes"),
                );
            } else if settings != project.settings {
                project.settings = settings;
                changed.push("settings");
            }
        }
        if errors.is_empty() {
            Ok(changed)
        } else {
            Err(CoreError::Validation(errors))
        }
    }

    /// The JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it) of the fields for `usage`: the
    /// rules [`Self::apply`] holds them to, for `/openapi.json` and anyone checking a body
    /// before sending it.
    pub fn json_schema(usage: FieldsUse) -> Value {
        let stored = usage == FieldsUse::Stored;
        // A field that may be sent as `null` (back to its default) unless it is the stored value.
        let ty = |t: &str| {
            if stored {
                json!(t)
            } else {
                json!([t, "null"])
            }
        };
        let name_ty = if matches!(usage, FieldsUse::Change) {
            json!(["string", "null"])
        } else {
            json!("string")
        };
        let mut visibility = json!({
            "type": ty("string"),
            "enum": ["private", "tenant"],
            "description": "`private` (members only) or `tenant` (the default); `null` is the same as absent",
        });
        if !stored {
            visibility["enum"] = json!(["private", "tenant", null]);
        }
        let required: Vec<&str> = match usage {
            FieldsUse::Create | FieldsUse::Replace => vec!["name"],
            FieldsUse::Change => vec![],
            FieldsUse::Stored => Self::NAMES.to_vec(),
        };
        let mut schema = json!({
            "type": "object",
            "required": required,
            "properties": {
                "name": {
                    "type": name_ty,
                    "description": "Display name, unique in the tenant (1-200 characters, not blank)",
                },
                "description": {
                    "type": ty("string"),
                    "description": "Free text (at most 5000 characters)",
                },
                "visibility": visibility,
                "tags": {
                    "type": ty("array"),
                    "items": {
                        "type": "string",
                        "description": "1-50 characters once trimmed, without control characters",
                    },
                    "description": "Labels (at most 20; repeats dropped)",
                },
                "settings": {
                    "type": ty("object"),
                    "description": "A JSON object of at most 16 KiB, replaced as a whole",
                },
            },
        });
        if !stored {
            // The rules a body is held to; a stored project kept them when it was written, and
            // a representation states only its types (what a client may rely on reading).
            let properties = &mut schema["properties"];
            properties["name"]["minLength"] = json!(1);
            properties["name"]["maxLength"] = json!(MAX_NAME);
            properties["name"]["pattern"] = json!(NAME_PATTERN);
            properties["description"]["maxLength"] = json!(MAX_DESCRIPTION);
            properties["tags"]["maxItems"] = json!(MAX_TAGS);
            properties["tags"]["items"]["pattern"] = json!(TAG_PATTERN);
            // Unknown fields are refused (`deny_unknown_fields`).
            schema["additionalProperties"] = json!(false);
        }
        schema
    }
}

/// `null` reads as the field's default (`Some(T::default())`); pair with `#[serde(default)]`
/// so that an absent field stays `None`.
fn null_is_default<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(de).map(|v| Some(v.unwrap_or_default()))
}

/// [`null_is_default`] for `settings`, whose default is the empty object.
fn null_is_empty_object<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Value>, D::Error> {
    Option::<Value>::deserialize(de).map(|v| Some(v.unwrap_or_else(|| json!({}))))
}

fn push(errors: &mut Vec<FieldError>, field: &str, message: String) {
    errors.push(FieldError {
        field: field.into(),
        message,
    });
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Trimmed tags in the given order, repeats dropped.
fn tags_of(tags: Vec<String>) -> Result<Vec<String>, String> {
    // Counted as sent (as `/openapi.json`'s `maxItems` says), before the repeats are looked
    // for: finding repeats among a million tags would take a worker for seconds.
    if tags.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    let mut kept: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_owned();
        if tag.is_empty() || tag.chars().count() > MAX_TAG || has_control(&tag) {
            return Err(format!(
                "each tag must be 1-{MAX_TAG} characters, without control characters"
            ));
        }
        if !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{TenantId, UserId};

    fn project() -> Project {
        let mut p = Project::new(TenantId::new(), UserId::new(), Utc::now());
        p.name = "Apollo".into();
        p.slug = "apollo".into();
        p
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    }

    #[test]
    fn names_schema_and_serialisation_list_the_same_fields() {
        let mut names: Vec<String> = ProjectFields::NAMES.iter().map(|&n| n.into()).collect();
        names.sort();
        let serialised = serde_json::to_value(ProjectFields::default()).expect("serialise");
        assert_eq!(keys(&serialised), names, "NAMES and the struct");
        for usage in [
            FieldsUse::Create,
            FieldsUse::Change,
            FieldsUse::Replace,
            FieldsUse::Stored,
        ] {
            let schema = ProjectFields::json_schema(usage);
            assert_eq!(keys(&schema["properties"]), names, "schema for {usage:?}");
        }
        // Every field of the representation is either editable here or read-only there.
        let entity = serde_json::to_value(project()).expect("serialise");
        for name in ProjectFields::NAMES {
            assert!(
                entity.get(name).is_some(),
                "{name} is not a field of Project"
            );
        }
        for name in keys(&entity) {
            assert!(
                ProjectFields::NAMES.contains(&name.as_str())
                    || Project::READ_ONLY.contains(&name.as_str()),
                "Project.{name} is neither editable (ProjectFields) nor Project::READ_ONLY"
            );
        }
    }

    #[test]
    fn absent_stays_null_returns_to_the_default_and_unknown_fields_are_refused() {
        let read = |v: Value| serde_json::from_value::<ProjectFields>(v);
        assert_eq!(
            read(json!({})).expect("empty"),
            ProjectFields::default(),
            "absent fields are left as they are"
        );
        let nulls = read(
            json!({"name": null, "description": null, "visibility": null,
            "tags": null, "settings": null}),
        )
        .expect("nulls");
        assert_eq!(nulls.name, None, "a name has no default");
        assert_eq!(nulls.description.as_deref(), Some(""));
        assert_eq!(
            nulls.visibility, None,
            "a visibility is never widened by a null"
        );
        assert_eq!(nulls.tags, Some(vec![]));
        assert_eq!(nulls.settings, Some(json!({})));
        let err = read(json!({"name": "x", "is_admin": true})).unwrap_err();
        assert!(err.to_string().contains("is_admin"), "{err}");
        assert!(read(json!({"visibility": "public"})).is_err());
    }

    #[test]
    fn a_fingerprint_is_what_is_asked_beyond_the_defaults() {
        let read = |v: Value| serde_json::from_value::<ProjectFields>(v).expect("fields");
        let plain = read(json!({"name": "Apollo"})).fingerprint();
        assert_eq!(plain, json!({"name": "Apollo"}));
        for same in [
            json!({"name": "Apollo", "description": null, "tags": null}),
            json!({"name": "Apollo", "description": "", "settings": {}, "visibility": "tenant"}),
        ] {
            assert_eq!(read(same.clone()).fingerprint(), plain, "{same}");
        }
        assert_eq!(
            read(json!({"name": "Apollo", "visibility": "private"})).fingerprint(),
            json!({"name": "Apollo", "visibility": "private"})
        );
    }

    #[test]
    fn a_replacement_sets_every_field_and_needs_a_name() {
        let r = ProjectFields {
            name: Some("Apollo".into()),
            tags: Some(vec!["a".into()]),
            ..ProjectFields::default()
        }
        .replacement()
        .expect("named");
        assert_eq!(
            r,
            ProjectFields {
                name: Some("Apollo".into()),
                description: Some(String::new()),
                visibility: Some(Visibility::Tenant),
                tags: Some(vec!["a".into()]),
                settings: Some(json!({})),
            }
        );
        assert!(ProjectFields::default().replacement().is_err());
        let mut p = project();
        p.description = "old".into();
        assert_eq!(
            ProjectFields::of(&p).or(ProjectFields::default()),
            ProjectFields::of(&p)
        );
    }

    #[test]
    fn valid_fields_apply_and_only_real_changes_are_named() {
        let mut p = project();
        let changed = ProjectFields {
            name: Some(" Apollo ".into()),
            description: Some("To the moon".into()),
            tags: Some(vec!["space".into(), " space ".into(), "nasa".into()]),
            ..ProjectFields::default()
        }
        .apply(&mut p)
        .expect("valid");
        assert_eq!(
            changed,
            ["description", "tags"],
            "the trimmed name did not change"
        );
        assert_eq!(p.tags, ["space", "nasa"]);
    }

    #[test]
    fn every_bad_field_is_reported_and_nothing_is_applied_to_them() {
        let mut p = project();
        let err = ProjectFields {
            name: Some("  ".into()),
            description: Some("x".repeat(MAX_DESCRIPTION + 1)),
            tags: Some(vec!["ok".into(), String::new()]),
            settings: Some(json!([1, 2])),
            ..ProjectFields::default()
        }
        .apply(&mut p)
        .unwrap_err();
        let CoreError::Validation(fields) = err else {
            panic!("validation expected");
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["name", "description", "tags", "settings"]);
        assert_eq!(p.name, "Apollo");
        let too_many = ProjectFields {
            tags: Some((0..=MAX_TAGS).map(|i| format!("t{i}")).collect()),
            ..ProjectFields::default()
        };
        assert!(too_many.apply(&mut project()).is_err());
        let repeated = ProjectFields {
            tags: Some(vec!["same".into(); MAX_TAGS + 1]),
            ..ProjectFields::default()
        };
        assert!(
            repeated.apply(&mut project()).is_err(),
            "counted as sent, as the schema's maxItems says"
        );
        let huge = ProjectFields {
            settings: Some(json!({"x": "y".repeat(MAX_SETTINGS_BYTES)})),
            ..ProjectFields::default()
        };
        assert!(huge.apply(&mut project()).is_err());
    }
}
