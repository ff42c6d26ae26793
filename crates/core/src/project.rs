//! Projects, their members and their version history: the shapes the project domain and the
//! stores share.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CoreError, ProjectId, TenantId, UserId};

/// Whether a project is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    /// In use.
    Active,
    /// Kept for reference; read-only until unarchived.
    Archived,
}

/// Who can see a project besides its members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Members only: to everyone else the project does not exist (404).
    Private,
    /// Everyone in the tenant who may read projects (the default).
    #[default]
    Tenant,
}

/// A member's role on one project, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectRole {
    /// Everything, including members and deletion; a project always keeps one.
    Owner,
    /// Change the project and its members (not owners).
    Maintainer,
    /// Change the project.
    Editor,
    /// Read it.
    Viewer,
}

macro_rules! text_enum {
    ($ty:ident, $field:literal, $($variant:ident = $text:literal),+) => {
        impl $ty {
            /// The stored and wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = CoreError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(CoreError::invalid(
                        $field,
                        format!(
                            "`{other}` is not one of {}",
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(
    ProjectStatus,
    "status",
    Active = "active",
    Archived = "archived"
);
text_enum!(
    Visibility,
    "visibility",
    Private = "private",
    Tenant = "tenant"
);
text_enum!(
    ProjectRole,
    "role",
    Owner = "owner",
    Maintainer = "maintainer",
    Editor = "editor",
    Viewer = "viewer"
);

/// A project of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Stable id.
    pub id: ProjectId,
    /// Its tenant; every query is scoped by it.
    pub tenant_id: TenantId,
    /// Display name, unique (case-insensitively) among the tenant's live projects.
    pub name: String,
    /// URL-friendly handle derived from the name when the project is created.
    pub slug: String,
    /// Free text.
    pub description: String,
    /// Active or archived.
    pub status: ProjectStatus,
    /// Private or visible to the tenant.
    pub visibility: Visibility,
    /// Labels for filtering, each 1–50 characters, at most 20.
    pub tags: Vec<String>,
    /// Free-form settings (a JSON object).
    pub settings: serde_json::Value,
    /// The owner of record (also an `owner` member).
    pub owner_id: UserId,
    /// Incremented by every change; the `ETag` of the project.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was archived, while it is.
    pub archived_at: Option<DateTime<Utc>>,
}

impl Project {
    /// The fields of a project's representation that no caller sets: identity, lifecycle
    /// and bookkeeping (the editable ones are [`crate::ProjectFields::NAMES`]).
    pub const READ_ONLY: [&'static str; 9] = [
        "id",
        "tenant_id",
        "slug",
        "status",
        "owner_id",
        "version",
        "created_at",
        "updated_at",
        "archived_at",
    ];

    /// A new active project of `tenant_id` owned by `owner_id`, at version 1, with every
    /// editable field at its default and the name (and slug) still empty.
    pub fn new(tenant_id: TenantId, owner_id: UserId, now: DateTime<Utc>) -> Self {
        Self {
            id: ProjectId::new(),
            tenant_id,
            name: String::new(),
            slug: String::new(),
            description: String::new(),
            status: ProjectStatus::Active,
            visibility: Visibility::default(),
            tags: Vec::new(),
            settings: serde_json::json!({}),
            owner_id,
            version: 1,
            created_at: now,
            updated_at: now,
            archived_at: None,
        }
    }
}

/// One entry of a project's history: the project as it was after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectVersion {
    /// The project.
    pub project_id: ProjectId,
    /// Its version number (1 for the creation).
    pub version: i64,
    /// The whole project after the change.
    pub snapshot: Project,
    /// The fields the change touched.
    pub changed: Vec<String>,
    /// Who made it.
    pub actor: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A member of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMember {
    /// The project.
    pub project_id: ProjectId,
    /// The user (of the project's tenant).
    pub user_id: UserId,
    /// Their role on this project.
    pub role: ProjectRole,
    /// Since when.
    pub added_at: DateTime<Utc>,
}

/// The order of a project listing. Every order is total (ties broken by id), so keyset
/// cursors never skip or repeat a project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProjectSort {
    /// Oldest first (the default).
    #[default]
    Created,
    /// Newest first.
    CreatedDesc,
    /// By name, A to Z (case-insensitive).
    Name,
    /// By name, Z to A.
    NameDesc,
    /// Least recently changed first.
    Updated,
    /// Most recently changed first.
    UpdatedDesc,
}

text_enum!(
    ProjectSort,
    "sort",
    Created = "created_at",
    CreatedDesc = "-created_at",
    Name = "name",
    NameDesc = "-name",
    Updated = "updated_at",
    UpdatedDesc = "-updated_at"
);

/// Narrows a project listing; every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    /// Only projects in this state.
    pub status: Option<ProjectStatus>,
    /// Only projects carrying this tag.
    pub tag: Option<String>,
    /// Only projects this user is a member of.
    pub member: Option<UserId>,
    /// Only projects whose name contains this text (case-insensitive).
    pub search: Option<String>,
    /// Leave out private projects this user is not a member of (`None`: the caller may see
    /// every project of the tenant).
    pub visible_to: Option<UserId>,
    /// The order.
    pub sort: ProjectSort,
}

/// The URL-friendly form of a name: lowercase ASCII letters and digits, other runs become
/// one `-`, at most 63 characters; `project` if nothing is left.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 63 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "project".to_owned()
    } else {
        slug.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_url_friendly_slugs() {
        assert_eq!(slugify("Apollo 11"), "apollo-11");
        assert_eq!(slugify("  Déjà vu -- Redux!  "), "d-j-vu-redux");
        assert_eq!(slugify("!!!"), "project");
        assert!(slugify(&"x".repeat(500)).len() <= 63);
    }

    #[test]
    fn texts_round_trip_and_unknown_ones_name_their_field() {
        for role in [
            ProjectRole::Owner,
            ProjectRole::Maintainer,
            ProjectRole::Editor,
            ProjectRole::Viewer,
        ] {
            assert_eq!(role.as_str().parse::<ProjectRole>().ok(), Some(role));
        }
        assert_eq!(
            "tenant".parse::<Visibility>().ok(),
            Some(Visibility::Tenant)
        );
        let err = "public".parse::<Visibility>().unwrap_err();
        assert!(matches!(err, CoreError::Validation(ref f) if f[0].field == "visibility"));
        assert!(ProjectRole::Owner < ProjectRole::Viewer, "strongest first");
    }
}
