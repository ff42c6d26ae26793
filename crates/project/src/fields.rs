//! What a project's editable fields may hold, checked all at once so a caller hears about
//! every bad field in one answer.

use usvc_core::{CoreError, FieldError, Project, Visibility};

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

/// The editable fields of a project; `None` leaves a field as it is (or at its default on
/// creation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFields {
    /// Display name, unique in the tenant (1–200 characters).
    pub name: Option<String>,
    /// Free text (at most 5000 characters).
    pub description: Option<String>,
    /// `private` or `tenant`.
    pub visibility: Option<Visibility>,
    /// Labels (at most 20, each 1–50 characters, no control characters; repeats dropped).
    pub tags: Option<Vec<String>>,
    /// A JSON object of at most 16 KiB; replaces the stored one.
    pub settings: Option<serde_json::Value>,
}

impl ProjectFields {
    /// Applies the set fields to `project`, validated, and returns the names of the fields
    /// that really changed; every problem is reported at once.
    pub fn apply(self, project: &mut Project) -> Result<Vec<&'static str>, CoreError> {
        let mut errors = Vec::new();
        let mut changed = Vec::new();
        if let Some(name) = self.name {
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
        if let Some(description) = self.description {
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
        if let Some(visibility) = self.visibility {
            if visibility != project.visibility {
                project.visibility = visibility;
                changed.push("visibility");
            }
        }
        if let Some(tags) = self.tags {
            match tags_of(tags) {
                Ok(tags) if tags != project.tags => {
                    project.tags = tags;
                    changed.push("tags");
                }
                Ok(_) => {}
                Err(message) => push(&mut errors, "tags", message),
            }
        }
        if let Some(settings) = self.settings {
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
    if kept.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use usvc_core::{ProjectId, ProjectStatus, TenantId, UserId};

    use super::*;

    fn project() -> Project {
        Project {
            id: ProjectId::new(),
            tenant_id: TenantId::new(),
            name: "Apollo".into(),
            slug: "apollo".into(),
            description: String::new(),
            status: ProjectStatus::Active,
            visibility: Visibility::Tenant,
            tags: vec![],
            settings: serde_json::json!({}),
            owner_id: UserId::new(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            archived_at: None,
        }
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
            settings: Some(serde_json::json!([1, 2])),
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
        let huge = ProjectFields {
            settings: Some(serde_json::json!({"x": "y".repeat(MAX_SETTINGS_BYTES)})),
            ..ProjectFields::default()
        };
        assert!(huge.apply(&mut project()).is_err());
    }
}
