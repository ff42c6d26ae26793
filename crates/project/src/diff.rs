//! The difference between two snapshots of a project, field by field, for the history view.

use serde::Serialize;
use usvc_core::Project;

/// One field that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field's name as the API spells it.
    pub field: String,
    /// Its value in the older version.
    pub from: serde_json::Value,
    /// Its value in the newer version.
    pub to: serde_json::Value,
}

/// Fields that describe a version rather than the project, left out of a diff.
const BOOKKEEPING: [&str; 3] = ["version", "updated_at", "created_at"];

/// The fields that differ from `older` to `newer`, in field-name order.
pub fn diff(older: &Project, newer: &Project) -> Vec<FieldChange> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(older), serde_json::to_value(newer))
    else {
        return Vec::new();
    };
    let mut fields: Vec<&String> = a.keys().chain(b.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !BOOKKEEPING.contains(&f.as_str()))
        .filter_map(|f| {
            let from = a.get(f).cloned().unwrap_or(serde_json::Value::Null);
            let to = b.get(f).cloned().unwrap_or(serde_json::Value::Null);
            (from != to).then(|| FieldChange {
                field: f.clone(),
                from,
                to,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use usvc_core::{TenantId, UserId};

    use super::*;

    #[test]
    fn only_changed_fields_are_listed_with_both_values() {
        let older = Project {
            name: "Apollo".into(),
            slug: "apollo".into(),
            tags: vec!["a".into()],
            ..Project::new(TenantId::new(), UserId::new(), Utc::now())
        };
        let newer = Project {
            name: "Apollo 11".into(),
            tags: vec!["a".into(), "b".into()],
            version: 2,
            updated_at: Utc::now() + chrono::Duration::seconds(1),
            ..older.clone()
        };
        let changes = diff(&older, &newer);
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["name", "tags"]);
        assert_eq!(changes[0].from, "Apollo");
        assert_eq!(changes[1].to, serde_json::json!(["a", "b"]));
        assert!(diff(&older, &older).is_empty());
    }
}
