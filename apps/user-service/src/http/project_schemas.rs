//! How `/openapi.json` states a project's bodies and representation. The editable fields and
//! their rules come from the one input shape, `usvc_core::ProjectFields` (its JSON Schema),
//! so a new field reaches the API's description without touching this file; only the
//! read-only part of the representation is stated here.
//!
//! These types are never constructed: the handlers read [`ProjectFields`] and answer the
//! entity's own serialisation.

use std::borrow::Cow;

use usvc_core::{FieldsUse, ProjectFields};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The fields' schema for `usage`, read from the JSON Schema the domain states, with a
/// description of the whole.
fn fields(usage: FieldsUse, description: &str) -> RefOr<Schema> {
    // It always reads (`bodies_state_the_domain_rules` below); were it not to, the spec would
    // say "an object" rather than the service failing to start.
    let mut schema: RefOr<Schema> = serde_json::from_value(ProjectFields::json_schema(usage))
        .unwrap_or_else(|_| ObjectBuilder::new().schema_type(Type::Object).into());
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.description = Some(description.into());
    }
    schema
}

macro_rules! project_schema {
    ($(#[$doc:meta])* $name:ident, $body:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

project_schema!(
    /// The body of `POST /api/v1/projects`.
    CreateProject,
    fields(
        FieldsUse::Create,
        "A new project: `name` required, other fields at their defaults when absent or null",
    )
);

project_schema!(
    /// The body of a project `PATCH`.
    ProjectChange,
    fields(
        FieldsUse::Change,
        "A change of a project's fields: absent ones stay, `null` returns `description`, `tags` \
         or `settings` to its default. Read-only fields echoed back (`id`, `slug`, `version`, \
         …) are ignored and left out of the schema.",
    )
);

project_schema!(
    /// The body of a project `PUT`.
    ProjectReplacement,
    fields(
        FieldsUse::Replace,
        "A project's editable fields, all of them: `name` required, absent ones return to \
         their defaults. Read-only fields echoed back are ignored.",
    )
);

project_schema!(
    /// A project as the API answers it: the entity serialised.
    ProjectView,
    representation()
);

/// The read-only fields of the representation (`Project::READ_ONLY`) beside the editable ones.
fn representation() -> RefOr<Schema> {
    let mut schema = fields(FieldsUse::Stored, "A project.");
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        for (name, property, required) in read_only() {
            object.properties.insert(name.into(), property.into());
            if required {
                object.required.push(name.into());
            }
        }
    }
    schema
}

/// Each read-only field with its schema and whether it is always present.
fn read_only() -> [(&'static str, Schema, bool); 9] {
    let text = |description: &str| -> Schema {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .build()
            .into()
    };
    let formatted = |format: KnownFormat, description: &str, nullable: bool| -> Schema {
        let ty = if nullable {
            utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
        } else {
            Type::String.into()
        };
        ObjectBuilder::new()
            .schema_type(ty)
            .format(Some(SchemaFormat::KnownFormat(format)))
            .description(Some(description))
            .build()
            .into()
    };
    [
        (
            "id",
            formatted(KnownFormat::Uuid, "Stable id.", false),
            true,
        ),
        (
            "tenant_id",
            formatted(KnownFormat::Uuid, "Its tenant.", false),
            true,
        ),
        ("slug", text("URL-friendly handle."), true),
        (
            "status",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["active", "archived"]))
                .description(Some("`active` or `archived` (read-only until unarchived)."))
                .build()
                .into(),
            true,
        ),
        (
            "owner_id",
            formatted(KnownFormat::Uuid, "The owner of record.", false),
            true,
        ),
        (
            "version",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .description(Some("Incremented by every change; also the `ETag`."))
                .build()
                .into(),
            true,
        ),
        (
            "created_at",
            formatted(KnownFormat::DateTime, "Creation time.", false),
            true,
        ),
        (
            "updated_at",
            formatted(KnownFormat::DateTime, "Last change.", false),
            true,
        ),
        (
            "archived_at",
            formatted(
                KnownFormat::DateTime,
                "When it was archived, while it is.",
                true,
            ),
            false,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use usvc_core::{Project, TenantId, UserId};
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    use utoipa::PartialSchema;

    use super::*;

    fn object(schema: RefOr<Schema>) -> utoipa::openapi::schema::Object {
        match schema {
            RefOr::T(Schema::Object(object)) => object,
            _ => panic!("an object schema"),
        }
    }

    /// Workflow steps and the API both answer a project as the entity serialises itself; the
    /// schema must list exactly those fields, the always-present ones as required.
    #[test]
    fn the_representation_schema_is_the_entity_serialised() {
        let mut project = Project::new(TenantId::new(), UserId::new(), chrono::Utc::now());
        project.name = "Apollo".into();
        let serialised = serde_json::to_value(&project).expect("entity");
        let keys: Vec<&String> = serialised.as_object().expect("object").keys().collect();
        let schema = object(ProjectView::schema());
        assert_eq!(schema.properties.keys().collect::<Vec<_>>(), keys);
        let mut required = schema.required.clone();
        required.sort();
        let mut always: Vec<&str> = keys
            .iter()
            .map(|k| k.as_str())
            .filter(|k| *k != "archived_at")
            .collect();
        always.sort_unstable();
        assert_eq!(required, always);
        for name in Project::READ_ONLY {
            assert!(schema.properties.contains_key(name), "{name}");
        }
    }

    #[test]
    fn bodies_state_the_domain_rules() {
        let create = object(CreateProject::schema());
        assert_eq!(create.required, ["name"]);
        let change = object(ProjectChange::schema());
        assert!(change.required.is_empty());
        let replace = object(ProjectReplacement::schema());
        assert_eq!(replace.required, ["name"]);
        let json = serde_json::to_value(create).expect("serialise");
        assert_eq!(
            json["properties"]["name"]["maxLength"],
            usvc_core::project_fields::MAX_NAME
        );
        assert_eq!(json["additionalProperties"], false);
    }
}
