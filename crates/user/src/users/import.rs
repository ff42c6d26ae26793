//! Bulk creation of users, for migrations from other systems.

use std::collections::HashSet;

use futures::stream::{self, StreamExt};
use serde_json::json;
use usvc_core::ports::HashLane;
use usvc_core::{
    permissions, Action, AuditEntry, CoreError, Email, FieldError, Password, Principal,
    ResourceRef, Role, User, UserId,
};

use super::changes::{self, ProfileChanges};
use super::UserService;
use crate::audit::actions as audit;
use crate::builtin_roles::actions;
use crate::events::{self, emit};
use crate::grants;
use crate::password_policy;

/// Most rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Passwords hashed between two progress lines in the log.
const PROGRESS_EVERY: usize = 500;

/// One user to import.
#[derive(Debug, Clone, Default)]
pub struct ImportRow {
    /// Login email, unique in the tenant.
    pub email: String,
    /// A plain password to hash (policy-checked).
    pub password: Option<Password>,
    /// A hash exported from another system: argon2 (PHC) or bcrypt (`$2b$…`). Upgraded to
    /// argon2id at the user's first login.
    pub password_hash: Option<String>,
    /// Roles; `member` when omitted.
    pub roles: Option<Vec<String>>,
    /// Whether the email is already proven.
    pub email_verified: bool,
    /// Profile fields.
    pub profile: ProfileChanges,
}

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Stored under this id.
    Created(UserId),
    /// Not stored, for these reasons.
    Rejected(Vec<FieldError>),
}

/// A row that passed validation, waiting to be stored.
struct Valid {
    index: usize,
    user: User,
    password: Option<Password>,
    hash: Option<String>,
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

impl UserService {
    /// Creates up to [`MAX_IMPORT_ROWS`] users. Every row is validated first and gets its own
    /// outcome, in input order; valid rows are stored in one transaction, so a rejected
    /// row writes nothing and does not hold back the others.
    pub async fn import(
        &self,
        principal: &Principal,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<ImportOutcome>, CoreError> {
        self.allow(principal, &actions::USERS_IMPORT, &ResourceRef::any("user"))
            .await?;
        if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
            return Err(CoreError::invalid(
                "users",
                format!("must hold 1-{MAX_IMPORT_ROWS} rows"),
            ));
        }
        // What the caller may hand out: the actions they hold now (asked, not audited).
        let held = grants::held(self.ports.authorizer.as_ref(), principal).await?;
        let custom = self.custom_roles(principal).await?;
        let total = rows.len();
        let mut outcomes: Vec<Option<ImportOutcome>> = vec![None; total];
        let mut valid = Vec::new();
        let mut seen = HashSet::new();
        let mut refused: Vec<Action> = Vec::new();
        for (index, row) in rows.into_iter().enumerate() {
            match self.check_row(principal, row, (&held, &custom), &mut seen, &mut refused) {
                Ok(v) => valid.push(Valid { index, ..v }),
                Err(errors) => outcomes[index] = Some(ImportOutcome::Rejected(errors)),
            }
        }
        // Each action a row would have handed out without the caller holding it is refused on
        // the audit trail once per import.
        for action in &refused {
            let doing = "import users with roles that grant it";
            let _ = grants::refuse(self.ports.authorizer.as_ref(), principal, action, doing).await;
        }
        let emails: Vec<String> = valid.iter().map(|v| v.user.email.normalized()).collect();
        let taken: HashSet<String> = self
            .ports
            .users
            .taken_emails(principal.tenant, emails)
            .await?
            .into_iter()
            .collect();
        valid.retain(|v| {
            let clash = taken.contains(&v.user.email.normalized());
            if clash {
                outcomes[v.index] = Some(ImportOutcome::Rejected(vec![field(
                    "email",
                    "a user with this email already exists",
                )]));
            }
            !clash
        });
        let valid = self.hash_all(valid).await?;
        self.store(principal, &valid, &mut outcomes).await?;
        tracing::info!(total, stored = valid.len(), "import finished");
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| ImportOutcome::Rejected(vec![field("", "not processed")])))
            .collect())
    }

    /// Validates one row (every problem at once); `index` is filled in by the caller.
    fn check_row(
        &self,
        principal: &Principal,
        row: ImportRow,
        (held, custom): (&[Action], &[Role]),
        seen: &mut HashSet<String>,
        refused: &mut Vec<Action>,
    ) -> Result<Valid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = Email::parse(&row.email).ok();
        match &email {
            None => errors.push(field("email", "is not a valid email address")),
            Some(e) if !seen.insert(e.normalized()) => {
                errors.push(field("email", "appears earlier in this import"));
            }
            Some(_) => {}
        }
        let names: Vec<String> = custom.iter().map(|r| r.name.clone()).collect();
        let roles = changes::roles(
            row.roles.unwrap_or_else(|| vec!["member".into()]),
            &names,
            &mut errors,
        );
        if roles.iter().any(|r| r == "owner") && !held.contains(&permissions::USERS_MANAGE_OWNERS) {
            errors.push(field("roles", "only owners may grant the owner role"));
            if !refused.contains(&permissions::USERS_MANAGE_OWNERS) {
                refused.push(permissions::USERS_MANAGE_OWNERS);
            }
        } else {
            let missing: Vec<Action> = grants::actions_of_all(&roles, custom)
                .into_iter()
                .filter(|a| !held.contains(a))
                .collect();
            if let Some(first) = missing.first() {
                errors.push(field(
                    "roles",
                    format!(
                        "you cannot give these roles: they grant {first}, which you do not hold"
                    ),
                ));
            }
            for action in missing {
                if !refused.contains(&action) {
                    refused.push(action);
                }
            }
        }
        match (&row.password, &row.password_hash, &email) {
            (Some(_), Some(_), _) => {
                errors.push(field(
                    "password",
                    "give a password or a password_hash, not both",
                ));
            }
            (Some(password), None, Some(email)) => {
                if let Err(CoreError::Validation(mut f)) =
                    password_policy::check(password, email, "password")
                {
                    errors.append(&mut f);
                }
            }
            (None, Some(hash), _) if !self.ports.hasher.accepts_hash(hash) => {
                errors.push(field(
                    "password_hash",
                    "must be an argon2 (PHC) or bcrypt hash",
                ));
            }
            _ => {}
        }
        let Some(email) = email else {
            return Err(errors);
        };
        let mut user = User::new(principal.tenant, email, roles, self.ports.clock.now());
        user.email_verified = row.email_verified;
        row.profile.apply(&mut user, &mut errors);
        if errors.is_empty() {
            Ok(Valid {
                index: 0,
                user,
                password: row.password,
                hash: row.password_hash,
            })
        } else {
            Err(errors)
        }
    }

    /// Hashes the plain passwords, as many at once as the hashing pool allows.
    async fn hash_all(&self, rows: Vec<Valid>) -> Result<Vec<Valid>, CoreError> {
        let hasher = &self.ports.hasher;
        let to_hash = rows.iter().filter(|v| v.password.is_some()).count();
        let done: Vec<Result<Valid, CoreError>> = stream::iter(rows.into_iter().enumerate())
            .map(|(i, mut v)| async move {
                if let Some(password) = v.password.take() {
                    v.hash = Some(
                        hasher
                            .hash(HashLane::Tenant(v.user.tenant_id), &password)
                            .await?,
                    );
                }
                if i > 0 && i % PROGRESS_EVERY == 0 {
                    tracing::info!(rows = i, to_hash, "import: hashing passwords");
                }
                Ok(v)
            })
            .buffered(16)
            .collect()
            .await;
        done.into_iter().collect()
    }

    /// Stores every valid row in one transaction (a failure writes nothing); if the database
    /// finds a clash (a user created meanwhile), stores the rows one by one so only the
    /// clashing ones are rejected.
    async fn store(
        &self,
        principal: &Principal,
        batch: &[Valid],
        outcomes: &mut [Option<ImportOutcome>],
    ) -> Result<(), CoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows = batch
            .iter()
            .map(|v| (v.user.clone(), v.hash.clone()))
            .collect();
        let now = self.ports.clock.now();
        let ids: Vec<UserId> = batch.iter().map(|v| v.user.id).collect();
        let entry = AuditEntry::by(principal, audit::USERS_IMPORTED, now)
            .on(ResourceRef::any("user"))
            .details(json!({ "count": ids.len(), "user_ids": ids }));
        match self.ports.users.create_many(rows, &entry).await {
            Ok(()) => {
                for v in batch {
                    outcomes[v.index] = Some(ImportOutcome::Created(v.user.id));
                }
            }
            Err(CoreError::Conflict(_)) => {
                for v in batch {
                    outcomes[v.index] = Some(
                        match self
                            .ports
                            .users
                            .create(&v.user, v.hash.clone(), &created(principal, &v.user))
                            .await
                        {
                            Ok(()) => ImportOutcome::Created(v.user.id),
                            Err(CoreError::Conflict(message)) => {
                                ImportOutcome::Rejected(vec![field("email", message)])
                            }
                            Err(e) => return Err(e),
                        },
                    );
                }
            }
            Err(e) => return Err(e),
        }
        let now = self.ports.clock.now();
        for v in batch {
            if matches!(outcomes[v.index], Some(ImportOutcome::Created(_))) {
                let payload =
                    json!({ "user_id": v.user.id, "roles": v.user.roles, "source": "import" });
                emit(
                    &self.ports.events,
                    principal.tenant,
                    events::USER_CREATED,
                    now,
                    Some(principal.user),
                    payload,
                )
                .await;
            }
        }
        Ok(())
    }
}

/// The audit row of one imported user stored on its own (after a batch clash).
fn created(principal: &Principal, user: &User) -> AuditEntry {
    AuditEntry::by(principal, audit::USER_CREATED, user.created_at)
        .on(ResourceRef::one("user", user.id))
        .details(json!({ "roles": user.roles, "source": "import" }))
}
