//! Users as administrators and the users themselves manage them: create, list, read, update,
//! erase, bulk lookup and import, self-registration.

mod changes;
mod import;
pub mod permission_questions;
mod registration;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use usvc_core::ports::{
    AuditLog, Authorizer, Cache, Clock, EventPublisher, HashLane, PasswordHasher, PlatformAdmins,
    ProjectAccess, RoleRepository, SessionRepository, TenantRepository, UpdateOutcome,
    UserAnalytics, UserRepository,
};
use usvc_core::{
    permissions, Action, AuditEntry, CoreError, Email, Page, PageRequest, Password, Principal,
    ResourceRef, Role, Session, SessionId, User, UserFilter, UserId, UserStatus,
};

use crate::audit::actions as audit;
use crate::builtin_roles::actions;
use crate::events::{self, emit};
use crate::grants;
use crate::password_policy;

pub use changes::{AdminChanges, ProfileChanges, MAX_METADATA_BYTES};
pub use import::{ImportOutcome, ImportRow, MAX_IMPORT_ROWS};
pub use registration::Registration;

/// Most ids one lookup may ask for.
pub const MAX_LOOKUP_IDS: usize = 1000;

/// A user an administrator creates.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login email, unique in the tenant.
    pub email: String,
    /// Initial password (policy-checked); without one the user cannot log in until a reset.
    pub password: Option<Password>,
    /// Roles; `member` when omitted.
    pub roles: Option<Vec<String>>,
    /// Whether the email is already proven (an admin vouching for it).
    pub email_verified: bool,
    /// Profile fields.
    pub profile: ProfileChanges,
}

/// The answer to a bulk lookup: the users found, in request order, and the ids that are not
/// (or not in the caller's tenant, which is the same to the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Found users, in the order their ids were asked for.
    pub users: Vec<User>,
    /// Ids with no user.
    pub missing: Vec<UserId>,
}

/// The ports [`UserService`] needs.
pub struct UserPorts {
    /// Tenants (settings for registration).
    pub tenants: Arc<dyn TenantRepository>,
    /// Users and credentials.
    pub users: Arc<dyn UserRepository>,
    /// Sessions (a disable revokes them).
    pub sessions: Arc<dyn SessionRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Who may do what.
    pub authorizer: Arc<dyn Authorizer>,
    /// Where `user.created`, … go.
    pub events: Arc<dyn EventPublisher>,
    /// `user-profiles`: shared with the auth service; every change invalidates its entry.
    pub profiles: Arc<dyn Cache<UserId, User>>,
    /// `user-sessions`: shared with the auth service; revocations invalidate entries.
    pub live_sessions: Arc<dyn Cache<SessionId, Session>>,
    /// The tenant's custom roles (assignable besides the built-in ones).
    pub roles: Arc<dyn RoleRepository>,
    /// Aggregates for `GET /analytics/users`.
    pub analytics: Arc<dyn UserAnalytics>,
    /// The audit trail, for reads of other users' data.
    pub audit: Arc<dyn AuditLog>,
    /// Holders of the platform grant: only holders change or remove another holder.
    pub platform: Arc<dyn PlatformAdmins>,
    /// Users' project roles: a new email would hand them to whoever resets the password.
    pub projects: Arc<dyn ProjectAccess>,
}

/// The user-management use cases.
pub struct UserService {
    pub(crate) ports: UserPorts,
}

fn user_ref(id: UserId) -> ResourceRef {
    ResourceRef::one("user", id)
}

impl UserService {
    /// A service over `ports`.
    pub fn new(ports: UserPorts) -> Self {
        Self { ports }
    }

    pub(crate) async fn allow(
        &self,
        principal: &Principal,
        action: &Action,
        resource: &ResourceRef,
    ) -> Result<(), CoreError> {
        self.ports
            .authorizer
            .authorize(principal, action, resource)
            .await
    }

    /// A user of the caller's tenant from the `user-profiles` cache (one load per user).
    async fn cached(&self, principal: &Principal, id: UserId) -> Result<User, CoreError> {
        let (users, tenant) = (self.ports.users.clone(), principal.tenant);
        let user = self
            .ports
            .profiles
            .get_or_load(
                id,
                Box::pin(async move {
                    users
                        .get(tenant, id)
                        .await?
                        .ok_or_else(|| CoreError::NotFound("user".into()))
                }),
            )
            .await?;
        // The cache is keyed by id alone; another tenant's user is simply not found.
        if user.tenant_id == principal.tenant {
            Ok(user)
        } else {
            Err(CoreError::NotFound("user".into()))
        }
    }

    /// A user of the caller's tenant, read from the store (before a change).
    async fn fresh(&self, principal: &Principal, id: UserId) -> Result<User, CoreError> {
        self.ports
            .users
            .get(principal.tenant, id)
            .await?
            .ok_or_else(|| CoreError::NotFound("user".into()))
    }

    /// The caller's tenant's custom roles (assignable like the built-in ones).
    pub(crate) async fn custom_roles(&self, principal: &Principal) -> Result<Vec<Role>, CoreError> {
        self.ports.roles.list(principal.tenant).await
    }

    /// Refuses a change to `target` (or erasing them) by a caller who does not hold every
    /// action `target` holds: a new email or password, or other roles, would let the caller
    /// act as them or strip them. Holders of the platform grant are changed only by holders.
    /// (Owners are guarded besides, by `users:manage_owners`.)
    async fn may_manage(
        &self,
        principal: &Principal,
        target: &User,
        custom: &[Role],
    ) -> Result<(), CoreError> {
        if target.id == principal.user {
            return Ok(());
        }
        let theirs = grants::actions_of_all(&target.roles, custom);
        grants::ensure_holds(
            self.ports.authorizer.as_ref(),
            principal,
            &theirs,
            "change or remove a user whose powers you do not all hold",
        )
        .await?;
        if self.ports.platform.is_platform_admin(target.id).await? {
            match self
                .allow(
                    principal,
                    &permissions::TENANTS_MANAGE,
                    &user_ref(target.id),
                )
                .await
            {
                Err(CoreError::Forbidden(reason)) => {
                    return Err(CoreError::Forbidden(format!(
                    "only holders of the platform grant change or remove another holder ({reason})"
                )))
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Refuses changing `target`'s email unless the caller holds, on each project `target`
    /// is a member of, everything `target`'s project role grants there: with the new
    /// address, a password reset makes the caller `target`, private projects and all (a
    /// tenant admin is no member of those). Refusals are audited.
    async fn may_take_over(&self, principal: &Principal, target: &User) -> Result<(), CoreError> {
        if target.id == principal.user {
            return Ok(());
        }
        let memberships = self
            .ports
            .projects
            .memberships(principal.tenant, target.id)
            .await?;
        for (project, role) in memberships {
            let resource = ResourceRef::one("project", project);
            for action in permissions::project_role_grants(role) {
                let held = self
                    .ports
                    .authorizer
                    .check(principal, action, &resource)
                    .await?
                    .allowed;
                if held {
                    continue;
                }
                return match self.allow(principal, action, &resource).await {
                    Err(CoreError::Forbidden(_)) | Ok(()) => Err(CoreError::Forbidden(
                        "changing this user's email would hand you their project roles, whose powers you do not all hold; ask them, or a member of their projects who does".into(),
                    )),
                    Err(e) => Err(e),
                };
            }
        }
        Ok(())
    }

    /// Refuses giving roles (those in `roles` and not in `before`) that grant an action the
    /// caller does not hold.
    async fn may_grant(
        &self,
        principal: &Principal,
        roles: &[String],
        before: &[String],
        custom: &[Role],
    ) -> Result<(), CoreError> {
        let added: Vec<&String> = roles.iter().filter(|r| !before.contains(r)).collect();
        if added.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = added.iter().map(|r| r.as_str()).collect();
        let granted = grants::actions_of_all(added, custom);
        grants::ensure_holds(
            self.ports.authorizer.as_ref(),
            principal,
            &granted,
            &format!("give the role {}", names.join(", ")),
        )
        .await
    }

    /// One user of the caller's tenant. Reading someone else needs `users:read`.
    pub async fn get(&self, principal: &Principal, id: UserId) -> Result<User, CoreError> {
        if id == principal.user {
            return self.cached(principal, id).await;
        }
        self.allow(principal, &actions::USERS_READ, &user_ref(id))
            .await?;
        let user = self.cached(principal, id).await?;
        self.record_read(principal, user_ref(id), serde_json::Value::Null)
            .await?;
        Ok(user)
    }

    /// Audits a read of other users' data (the seed's `user_data_access`).
    async fn record_read(
        &self,
        principal: &Principal,
        resource: ResourceRef,
        details: serde_json::Value,
    ) -> Result<(), CoreError> {
        let entry = AuditEntry::by(principal, audit::USER_READ, self.ports.clock.now())
            .on(resource)
            .details(details);
        self.ports.audit.append(entry).await
    }

    /// The caller's tenant's users matching `filter`, a page at a time.
    pub async fn list(
        &self,
        principal: &Principal,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, CoreError> {
        self.allow(principal, &actions::USERS_READ, &ResourceRef::any("user"))
            .await?;
        let bad = |t: &String| t.chars().count() > 254 || t.chars().any(char::is_control);
        if filter.prefix.as_ref().is_some_and(bad) {
            return Err(CoreError::invalid(
                "q",
                "must be at most 254 characters, without control characters",
            ));
        }
        if filter.role.as_ref().is_some_and(bad) {
            return Err(CoreError::invalid(
                "role",
                "must be at most 254 characters, without control characters",
            ));
        }
        let query = json!({
            "status": filter.status, "role": filter.role, "q": filter.prefix,
        });
        let page = self
            .ports
            .users
            .list(principal.tenant, filter, page)
            .await?;
        let ids: Vec<UserId> = page.items.iter().map(|u| u.id).collect();
        self.record_read(
            principal,
            ResourceRef::any("user"),
            json!({ "filter": query, "user_ids": ids }),
        )
        .await?;
        Ok(page)
    }

    /// Many users at once: cache first, then one query for every miss. Results follow the
    /// request order; repeated ids are answered once.
    pub async fn lookup(
        &self,
        principal: &Principal,
        ids: Vec<UserId>,
    ) -> Result<Lookup, CoreError> {
        self.allow(principal, &actions::USERS_READ, &ResourceRef::any("user"))
            .await?;
        if ids.len() > MAX_LOOKUP_IDS {
            return Err(CoreError::invalid(
                "ids",
                format!("at most {MAX_LOOKUP_IDS} ids per lookup"),
            ));
        }
        let mut order = Vec::with_capacity(ids.len());
        for id in ids {
            if !order.contains(&id) {
                order.push(id);
            }
        }
        let mut found: HashMap<UserId, User> = HashMap::with_capacity(order.len());
        let mut misses = Vec::new();
        for id in &order {
            match self.ports.profiles.get(id) {
                Some(user) if user.tenant_id == principal.tenant => {
                    found.insert(*id, user);
                }
                Some(_) => {}
                None => misses.push(*id),
            }
        }
        if !misses.is_empty() {
            let generation = self.ports.profiles.generation();
            for user in self.ports.users.get_many(principal.tenant, misses).await? {
                self.ports
                    .profiles
                    .insert_if_unchanged(user.id, user.clone(), generation);
                found.insert(user.id, user);
            }
        }
        let mut lookup = Lookup {
            users: Vec::with_capacity(found.len()),
            missing: Vec::new(),
        };
        for id in order {
            match found.remove(&id) {
                Some(user) => lookup.users.push(user),
                None => lookup.missing.push(id),
            }
        }
        let ids: Vec<UserId> = lookup.users.iter().map(|u| u.id).collect();
        self.record_read(
            principal,
            ResourceRef::any("user"),
            json!({ "user_ids": ids }),
        )
        .await?;
        Ok(lookup)
    }

    /// An administrator creates a user in their tenant.
    pub async fn create(&self, principal: &Principal, new: NewUser) -> Result<User, CoreError> {
        self.allow(principal, &actions::USERS_WRITE, &ResourceRef::any("user"))
            .await?;
        let now = self.ports.clock.now();
        let mut errors = Vec::new();
        let email = Email::parse(&new.email)
            .map_err(|_| changes::error(&mut errors, "email", "is not a valid email address"))
            .ok();
        let custom = self.custom_roles(principal).await?;
        let names: Vec<String> = custom.iter().map(|r| r.name.clone()).collect();
        let roles = changes::roles(
            new.roles.unwrap_or_else(|| vec!["member".into()]),
            &names,
            &mut errors,
        );
        if let (Some(email), Some(password)) = (&email, &new.password) {
            if let Err(CoreError::Validation(mut fields)) =
                password_policy::check(password, email, "password")
            {
                errors.append(&mut fields);
            }
        }
        let Some(email) = email else {
            return Err(CoreError::Validation(errors));
        };
        let mut user = User::new(principal.tenant, email, roles, now);
        user.email_verified = new.email_verified;
        new.profile.apply(&mut user, &mut errors);
        changes::verdict(errors)?;
        if user.roles.iter().any(|r| r == "owner") {
            self.allow(
                principal,
                &actions::USERS_MANAGE_OWNERS,
                &ResourceRef::any("user"),
            )
            .await?;
        }
        self.may_grant(principal, &user.roles, &[], &custom).await?;
        let hash = match &new.password {
            Some(password) => Some(
                self.ports
                    .hasher
                    .hash(HashLane::Tenant(principal.tenant), password)
                    .await?,
            ),
            None => None,
        };
        let entry = AuditEntry::by(principal, audit::USER_CREATED, now)
            .on(user_ref(user.id))
            .details(json!({ "roles": user.roles }));
        self.ports.users.create(&user, hash, &entry).await?;
        let payload = json!({ "user_id": user.id, "roles": user.roles, "source": "admin" });
        emit(
            &self.ports.events,
            user.tenant_id,
            events::USER_CREATED,
            now,
            Some(principal.user),
            payload,
        )
        .await;
        Ok(user)
    }

    /// The caller changes their own profile (not their email, roles or status).
    pub async fn update_own_profile(
        &self,
        principal: &Principal,
        changes: ProfileChanges,
    ) -> Result<User, CoreError> {
        for _ in 0..SAVE_ATTEMPTS {
            let before = self.fresh(principal, principal.user).await?;
            let mut user = before.clone();
            let mut errors = Vec::new();
            let fields = changes.clone().apply(&mut user, &mut errors);
            changes::verdict(errors)?;
            if let Some(saved) = self.save(principal, &before, user, fields, false).await? {
                return Ok(saved);
            }
        }
        Err(busy())
    }

    /// An administrator changes a user's profile, email, roles or status. Owners are managed
    /// only by owners, and the last active owner cannot be demoted or disabled. Disabling or
    /// locking ends every session of the user.
    pub async fn update(
        &self,
        principal: &Principal,
        id: UserId,
        changes: AdminChanges,
    ) -> Result<User, CoreError> {
        self.allow(principal, &actions::USERS_WRITE, &user_ref(id))
            .await?;
        let custom = self.custom_roles(principal).await?;
        let names: Vec<String> = custom.iter().map(|r| r.name.clone()).collect();
        for _ in 0..SAVE_ATTEMPTS {
            let before = self.fresh(principal, id).await?;
            let mut user = before.clone();
            let mut errors = Vec::new();
            let fields = changes.clone().apply(&mut user, &names, &mut errors);
            changes::verdict(errors)?;
            let owner_before = is_active_owner(&before);
            if owner_before || user.roles.iter().any(|r| r == "owner") {
                self.allow(principal, &actions::USERS_MANAGE_OWNERS, &user_ref(id))
                    .await?;
            }
            self.may_manage(principal, &before, &custom).await?;
            if user.email != before.email {
                self.may_take_over(principal, &before).await?;
            }
            self.may_grant(principal, &user.roles, &before.roles, &custom)
                .await?;
            let guard = owner_before && !is_active_owner(&user);
            let ended = before.status == UserStatus::Active && user.status != UserStatus::Active;
            if let Some(saved) = self.save(principal, &before, user, fields, guard).await? {
                if ended {
                    self.end_sessions(principal, id, "account_disabled").await?;
                }
                return Ok(saved);
            }
        }
        Err(busy())
    }

    /// Stores a changed user if it is still the version `before` (else `None`: read again),
    /// drops its cached profile everywhere and announces the change. With `keep_an_owner` the
    /// store refuses to leave the tenant without an active owner.
    async fn save(
        &self,
        principal: &Principal,
        before: &User,
        mut user: User,
        changed: Vec<&'static str>,
        keep_an_owner: bool,
    ) -> Result<Option<User>, CoreError> {
        let now = chrono::SubsecRound::trunc_subsecs(self.ports.clock.now(), 6);
        user.updated_at = now.max(before.updated_at + chrono::Duration::microseconds(1));
        let mut details = json!({ "fields": changed });
        if before.roles != user.roles {
            details["roles"] = json!({ "from": before.roles, "to": user.roles });
        }
        if before.status != user.status {
            details["status"] = json!({ "from": before.status, "to": user.status });
        }
        let entry = AuditEntry::by(principal, audit::USER_UPDATED, now)
            .on(user_ref(user.id))
            .details(details);
        match self
            .ports
            .users
            .update(&user, before.updated_at, keep_an_owner, &entry)
            .await?
        {
            UpdateOutcome::Updated => {}
            UpdateOutcome::Stale => return Ok(None),
            UpdateOutcome::LastOwner => return Err(last_owner()),
        }
        self.ports.profiles.invalidate(&user.id).await?;
        let payload = json!({ "user_id": user.id, "fields": changed });
        emit(
            &self.ports.events,
            user.tenant_id,
            events::USER_UPDATED,
            now,
            Some(principal.user),
            payload,
        )
        .await;
        Ok(Some(user))
    }

    /// Revokes every session of `user` and drops them from the cache everywhere.
    async fn end_sessions(
        &self,
        principal: &Principal,
        user: UserId,
        reason: &str,
    ) -> Result<(), CoreError> {
        let now = self.ports.clock.now();
        let entry = AuditEntry::by(principal, audit::SESSION_REVOKED, now)
            .on(user_ref(user))
            .details(json!({ "reason": reason }));
        let revoked = self
            .ports
            .sessions
            .revoke_all(principal.tenant, user, None, reason.to_owned(), now, &entry)
            .await?;
        self.forget_sessions(principal, user, revoked, reason).await
    }

    async fn forget_sessions(
        &self,
        principal: &Principal,
        user: UserId,
        sessions: Vec<SessionId>,
        reason: &str,
    ) -> Result<(), CoreError> {
        let now = self.ports.clock.now();
        for id in sessions {
            self.ports.live_sessions.invalidate(&id).await?;
            let payload = json!({ "user_id": user, "session_id": id, "reason": reason });
            emit(
                &self.ports.events,
                principal.tenant,
                events::SESSION_REVOKED,
                now,
                Some(principal.user),
                payload,
            )
            .await;
        }
        Ok(())
    }

    /// The tenant's user figures (`analytics:read`), straight from the database.
    pub async fn analytics(
        &self,
        principal: &Principal,
    ) -> Result<usvc_core::UserStats, CoreError> {
        self.allow(
            principal,
            &actions::ANALYTICS_READ,
            &ResourceRef::any("user"),
        )
        .await?;
        self.ports
            .analytics
            .user_stats(principal.tenant, self.ports.clock.now())
            .await
    }

    /// Erases a user: every session revoked, personal data removed, the id kept for history.
    pub async fn delete(&self, principal: &Principal, id: UserId) -> Result<(), CoreError> {
        self.allow(principal, &actions::USERS_DELETE, &user_ref(id))
            .await?;
        let user = self.fresh(principal, id).await?;
        if user.roles.iter().any(|r| r == "owner") {
            self.allow(principal, &actions::USERS_MANAGE_OWNERS, &user_ref(id))
                .await?;
        }
        let custom = self.custom_roles(principal).await?;
        self.may_manage(principal, &user, &custom).await?;
        let now = self.ports.clock.now();
        let entry = AuditEntry::by(principal, audit::USER_DELETED, now).on(user_ref(id));
        let revoked = self
            .ports
            .users
            .erase(principal.tenant, id, now, is_active_owner(&user), &entry)
            .await?;
        self.ports.profiles.invalidate(&id).await?;
        self.forget_sessions(principal, id, revoked, "user_deleted")
            .await?;
        emit(
            &self.ports.events,
            principal.tenant,
            events::USER_DELETED,
            now,
            Some(principal.user),
            json!({ "user_id": id }),
        )
        .await;
        Ok(())
    }
}

/// How often a change is re-applied when the user changed between read and write.
const SAVE_ATTEMPTS: usize = 3;

fn busy() -> CoreError {
    CoreError::Conflict("the user is being changed by someone else right now; try again".into())
}

fn last_owner() -> CoreError {
    CoreError::Conflict(
        "this is the tenant's last active owner; make someone else owner first".into(),
    )
}

fn is_active_owner(user: &User) -> bool {
    user.status == UserStatus::Active && user.roles.iter().any(|r| r == "owner")
}

#[cfg(test)]
mod tests;
