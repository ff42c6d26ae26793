//! The audit trail: who did what to which resource, from where, with what outcome.
//!
//! Each tenant's rows form a hash chain: a row's `hash` covers every field of the row and the
//! `hash` of the row before it (`prev_hash`), and rows are numbered `1, 2, 3, …` per tenant.
//! Editing a row breaks its hash; deleting or re-ordering rows breaks the numbering or the
//! link to the predecessor. `chain_hash` is the one definition of that hash, used by the
//! stores when they append and by the verifier when it re-checks.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CoreError, Principal, ResourceRef, SessionId, TenantId, UserId};

/// Identifies one audit row (UUID v7, so ids sort by time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditId(Uuid);

impl AuditId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an id read back from storage.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The raw UUID, for adapters that store it natively.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for AuditId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Where a request came from, as far as the HTTP adapter can tell. Recorded with sessions and
/// audit rows so an auditor can tie an action to a client and to the service's own logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Client address (the proxy-supplied one when the service is configured to trust it).
    pub ip: Option<String>,
    /// Client software, as the client described itself.
    pub user_agent: Option<String>,
    /// The request's `x-request-id`, the key into the service's logs and traces.
    pub request_id: Option<String>,
}

/// Who acted: a signed-in user (with the session they acted through) or the service itself
/// (bootstrap, CLI, background work).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A user, through one session when the action came with a token.
    User {
        /// The acting user.
        id: UserId,
        /// The session used, if any (a login has no session yet).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<SessionId>,
    },
    /// The service itself or an operator at its command line.
    System,
    /// Someone not (yet) identified: a failed login, a reset link.
    Anonymous,
}

impl Actor {
    /// The signed-in caller, through their session.
    pub const fn caller(principal: &Principal) -> Self {
        Self::User {
            id: principal.user,
            session: Some(principal.session),
        }
    }

    /// A user through one of their sessions (a session just opened, a refresh).
    pub const fn in_session(id: UserId, session: SessionId) -> Self {
        Self::User {
            id,
            session: Some(session),
        }
    }

    /// A user acting without a session (a login attempt, a mailed link, a registration).
    pub const fn sessionless(id: UserId) -> Self {
        Self::User { id, session: None }
    }

    /// The user behind the action, if a user acted.
    pub const fn user(&self) -> Option<UserId> {
        match self {
            Self::User { id, .. } => Some(*id),
            Self::System | Self::Anonymous => None,
        }
    }

    /// The stored name of the actor's kind.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }
}

/// How an audited attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action happened.
    Success,
    /// The authorizer refused it.
    Denied,
    /// It was attempted and failed (a wrong password, a reused refresh token).
    Failure,
}

impl Outcome {
    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
        }
    }
}

impl FromStr for Outcome {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Self::Success),
            "denied" => Ok(Self::Denied),
            "failure" => Ok(Self::Failure),
            other => Err(CoreError::invalid(
                "outcome",
                format!("`{other}` is not one of success, denied, failure"),
            )),
        }
    }
}

/// The action name of a refusal by the authorizer (the seed's `access_denied`).
pub const ACCESS_DENIED: &str = "authz.denied";

/// What to record: built by the domain next to the change it describes and handed to the
/// repository that makes the change, which appends it in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The tenant whose chain the row joins.
    pub tenant: TenantId,
    /// When it happened (stored to the microsecond).
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: Actor,
    /// What happened, as a dotted name (`user.created`, `auth.login`, `authz.denied`).
    pub action: String,
    /// What it happened to, if anything in particular.
    pub resource: Option<ResourceRef>,
    /// How it ended.
    pub outcome: Outcome,
    /// Where the request came from.
    pub origin: Origin,
    /// Anything else an auditor needs (changed fields, the refused action, a count).
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// A successful action by a signed-in caller, from the caller's request.
    pub fn by(principal: &Principal, action: &str, at: DateTime<Utc>) -> Self {
        Self {
            tenant: principal.tenant,
            at: chrono::SubsecRound::trunc_subsecs(at, 6),
            actor: Actor::caller(principal),
            action: action.to_owned(),
            resource: None,
            outcome: Outcome::Success,
            origin: principal.origin.clone(),
            details: serde_json::Value::Null,
        }
    }

    /// A successful action by the service itself or the CLI.
    pub fn system(tenant: TenantId, action: &str, at: DateTime<Utc>) -> Self {
        Self {
            tenant,
            at: chrono::SubsecRound::trunc_subsecs(at, 6),
            actor: Actor::System,
            action: action.to_owned(),
            resource: None,
            outcome: Outcome::Success,
            origin: Origin::default(),
            details: serde_json::Value::Null,
        }
    }

    /// The refusal of `action` on `resource` to `principal`, and why (the seed's
    /// `access_denied`): written by the authorizer's guard and by bulk requests, which ask
    /// per project and record every refusal in one append.
    pub fn denied(
        principal: &Principal,
        action: &crate::Action,
        resource: &ResourceRef,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self::by(principal, ACCESS_DENIED, at)
            .on(resource.clone())
            .outcome(Outcome::Denied)
            .details(serde_json::json!({ "action": action, "reason": reason }))
    }

    /// The same entry about `resource`.
    #[must_use]
    pub fn on(mut self, resource: ResourceRef) -> Self {
        self.resource = Some(resource);
        self
    }

    /// The same entry with another outcome.
    #[must_use]
    pub const fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same entry with details.
    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// The same entry attributed to `actor`, from `origin` (actions before a session exists:
    /// logins, resets).
    #[must_use]
    pub fn from(mut self, actor: Actor, origin: &Origin) -> Self {
        self.actor = actor;
        self.origin = origin.clone();
        self
    }
}

/// A stored audit row: the entry plus its place in the tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The row's id.
    pub id: AuditId,
    /// Its position in the tenant's chain, from 1 without gaps.
    pub seq: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// The hash of the row before it (`""` for the first).
    pub prev_hash: String,
    /// `chain_hash` of this row.
    pub hash: String,
}

impl AuditRecord {
    /// Chains `entry` after the row whose hash is `prev_hash` at position `seq`.
    pub fn chained(id: AuditId, seq: i64, entry: AuditEntry, prev_hash: String) -> Self {
        let hash = chain_hash(id, seq, &entry, &prev_hash);
        Self {
            id,
            seq,
            entry,
            prev_hash,
            hash,
        }
    }
}

/// The last link of a tenant's chain, kept beside the rows so removing rows from the end is
/// detected too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The number of rows appended.
    pub seq: i64,
    /// The hash of the last row appended.
    pub hash: String,
}

/// Narrows an audit listing; every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Rows by this user.
    pub actor: Option<UserId>,
    /// Rows with this action name.
    pub action: Option<String>,
    /// Rows about this resource type, and instance when `id` is set.
    pub resource: Option<ResourceRef>,
    /// Rows with this outcome.
    pub outcome: Option<Outcome>,
    /// Rows at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Rows before this time.
    pub until: Option<DateTime<Utc>>,
}

/// The answer of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// Whether every row and the head agree.
    pub valid: bool,
    /// How many rows were checked.
    pub checked: u64,
    /// The first row that does not fit the chain (edited, or following a removed row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_invalid_id: Option<AuditId>,
    /// What is wrong, for a person to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Entries recorded but not yet chained when the check ended (queued by changes that
    /// committed meanwhile; the next check covers them).
    #[serde(default)]
    pub queued: u64,
}

/// SHA-256 (hex) over the row's fields and its predecessor's hash.
///
/// The fields are serialised as one JSON array, so no field's content can be confused with a
/// separator; `at` enters as microseconds, the precision both stores keep.
pub fn chain_hash(id: AuditId, seq: i64, entry: &AuditEntry, prev_hash: &str) -> String {
    let (actor_user, actor_session) = match &entry.actor {
        Actor::User { id, session } => (Some(id.to_string()), session.map(|s| s.to_string())),
        Actor::System | Actor::Anonymous => (None, None),
    };
    let canonical = serde_json::json!([
        prev_hash,
        seq,
        id.to_string(),
        entry.tenant.to_string(),
        entry.at.timestamp_micros(),
        entry.actor.kind(),
        actor_user,
        actor_session,
        entry.action,
        entry.resource.as_ref().map(|r| &r.kind),
        entry.resource.as_ref().and_then(|r| r.id.as_ref()),
        entry.outcome.as_str(),
        entry.origin.ip,
        entry.origin.user_agent,
        entry.origin.request_id,
        sorted_keys(&entry.details),
    ]);
    crate::idempotency::sha256_hex(canonical.to_string().as_bytes())
}

/// `value` with every object's keys in sorted order, so the hash does not depend on whether
/// some dependency switched serde_json's `preserve_order` on.
fn sorted_keys(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(sorted_keys).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry::system(TenantId::new(), "user.created", Utc::now())
            .on(ResourceRef::one("user", UserId::new()))
            .details(serde_json::json!({"email": "a@example.com"}))
    }

    #[test]
    fn any_change_to_a_row_changes_its_hash() {
        let id = AuditId::new();
        let original = entry();
        let hash = chain_hash(id, 1, &original, "");
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, chain_hash(id, 1, &original, ""));

        let mut edited = original.clone();
        edited.details = serde_json::json!({"email": "b@example.com"});
        assert_ne!(hash, chain_hash(id, 1, &edited, ""));
        let edited = original.clone().outcome(Outcome::Denied);
        assert_ne!(hash, chain_hash(id, 1, &edited, ""));
        assert_ne!(
            hash,
            chain_hash(id, 2, &original, ""),
            "the position counts"
        );
        assert_ne!(
            hash,
            chain_hash(id, 1, &original, "x"),
            "the predecessor counts"
        );
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let id = AuditId::new();
        let mut a = entry();
        a.origin.ip = Some("1.2.3.4".into());
        a.origin.user_agent = Some("x".into());
        let mut b = a.clone();
        b.origin.ip = Some("1.2.3.4\",\"x".into());
        b.origin.user_agent = None;
        assert_ne!(chain_hash(id, 1, &a, ""), chain_hash(id, 1, &b, ""));
    }

    #[test]
    fn outcomes_round_trip_through_their_names() {
        for outcome in [Outcome::Success, Outcome::Denied, Outcome::Failure] {
            assert_eq!(outcome.as_str().parse::<Outcome>().ok(), Some(outcome));
        }
        assert!("maybe".parse::<Outcome>().is_err());
    }
}
