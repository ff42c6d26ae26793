//! Types that exist only to describe request fields exactly in `/openapi.json`: the items of
//! lists, whose rules an attribute on the list cannot carry. They are never constructed; the
//! handlers read plain strings and the domain checks the same rules.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// A string schema with a pattern and length bounds.
fn string(
    description: &str,
    pattern: &str,
    min: Option<usize>,
    max: Option<usize>,
) -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .pattern(Some(pattern))
            .min_length(min)
            .max_length(max)
            .build(),
    ))
}

macro_rules! described {
    ($(#[$doc:meta])* $name:ident, $description:expr, $pattern:expr, $min:expr, $max:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string($description, $pattern, $min, $max)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

described!(
    /// An action a custom role may grant: the catalogue but `users:manage_owners` (owners
    /// only) and `tenants:manage` (the platform grant).
    GrantableAction,
    "An action of the catalogue a custom role may carry",
    "^(users:(read|write|delete|import)|roles:manage|tenant:(read|write)|analytics:read|audit:read|projects:(create|read|write|delete|manage_members)|workflows:(read|write|execute)|tasks:complete|clients:manage)$",
    None,
    None
);

described!(
    /// A role a user may hold: a built-in one or the name of one of the tenant's custom roles.
    RoleName,
    "`owner`, `admin`, `member`, `viewer`, or the name of one of the tenant's custom roles",
    "^[a-z][a-z0-9_-]*$",
    Some(2),
    Some(50)
);

/// The body of `POST /api/v1/users/import`: 1 to 10,000 rows
/// (`usvc_user::MAX_IMPORT_ROWS`).
pub struct ImportRows;

impl PartialSchema for ImportRows {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(Ref::from_schema_name("ImportUser"))
            .min_items(Some(1))
            .max_items(Some(usvc_user::MAX_IMPORT_ROWS))
            .build()
            .into()
    }
}

impl ToSchema for ImportRows {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        use crate::http::users::ImportUser;
        schemas.push((ImportUser::name().into_owned(), ImportUser::schema()));
        ImportUser::schemas(schemas);
    }
}
