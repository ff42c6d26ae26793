//! Typed identifiers. Every id is a UUID v7, so ids sort by creation time; that makes keyset
//! pagination on the primary key stable and index-friendly on both stores.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an id read back from storage or the wire.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The raw UUID, for adapters that store it natively.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies a tenant: the wall every query is scoped by.
    TenantId
);
id_type!(
    /// Identifies a user within (and only within) its tenant.
    UserId
);
id_type!(
    /// Identifies a login session; tokens carry it so a logout can revoke them all.
    SessionId
);
id_type!(
    /// Identifies a custom role of a tenant.
    RoleId
);
id_type!(
    /// Identifies a project.
    ProjectId
);
id_type!(
    /// Identifies a workflow definition (all of its versions).
    WorkflowId
);
id_type!(
    /// Identifies one execution of a workflow version.
    ExecutionId
);
id_type!(
    /// Identifies a human task (an approval) of an execution.
    TaskId
);
id_type!(
    /// Identifies an OAuth client of a tenant; its text form is the `client_id`.
    ClientId
);
id_type!(
    /// Identifies a user's passkey.
    PasskeyId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip_as_text() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert!(a < b, "UUID v7 ids must sort by creation");
        assert!(
            a.to_string() < b.to_string(),
            "their text form must sort the same way"
        );
        assert_eq!(a.to_string().parse::<TenantId>().ok(), Some(a));
        assert!("not-a-uuid".parse::<TenantId>().is_err());
    }
}
