//! The named caches and their default sizes and TTLs (the seed's figures).

use std::time::Duration;

/// A cache's name, capacity and time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSpec {
    /// Name on `/metrics` and in invalidation messages.
    pub name: &'static str,
    /// Most entries held; the least valuable are evicted beyond it.
    pub capacity: u64,
    /// How long an entry may be served after it was stored.
    pub ttl: Duration,
}

const fn spec(name: &'static str, capacity: u64, ttl_secs: u64) -> CacheSpec {
    CacheSpec {
        name,
        capacity,
        ttl: Duration::from_secs(ttl_secs),
    }
}

impl CacheSpec {
    /// Session liveness by session id.
    pub const USER_SESSIONS: Self = spec("user-sessions", 5000, 1800);
    /// Verified access tokens by SHA-256 of the token (never kept past `exp`).
    pub const JWT_TOKENS: Self = spec("jwt-tokens", 10_000, 3600);
    /// Profiles by user id.
    pub const USER_PROFILES: Self = spec("user-profiles", 1000, 1800);
    /// Authorization decisions by (tenant, user, action, resource).
    pub const PERMISSIONS: Self = spec("permissions", 2000, 900);
    /// Projects by id.
    pub const PROJECTS: Self = spec("projects", 1000, 3600);
    /// A tenant's user list by tenant id.
    pub const TENANT_USERS: Self = spec("tenant-users", 100, 600);
    /// A project's visibility and members' roles (its access list), by project id: the
    /// authorizer's source of resource-scoped grants.
    pub const PROJECT_ACCESS: Self = spec("project-access", 2000, 900);
    /// Whether a user holds the platform grant, by user id. Short-lived, so a grant taken
    /// back from the command line ends within 30 s even where no invalidation reaches.
    pub const PLATFORM_ADMINS: Self = spec("platform-admins", 100, 30);

    /// Workflows at their current version, by workflow id: every read of a definition and
    /// every start of an execution.
    pub const WORKFLOWS: Self = spec("workflows", 1000, 3600);

    /// Parsed workflow definitions by version (`<workflow>@<version>`): what every step
    /// attempt runs. Versions never change, so entries are only evicted.
    pub const WORKFLOW_VERSIONS: Self = spec("workflow-versions", 1000, 3600);

    /// The quotas in force by tenant id: read at every workflow start and event. Dropped on
    /// every change by the platform, and short-lived besides.
    pub const TENANT_QUOTAS: Self = spec("tenant-quotas", 1000, 60);

    /// Every named cache of the design, in display order.
    pub const ALL: [Self; 11] = [
        Self::USER_SESSIONS,
        Self::JWT_TOKENS,
        Self::USER_PROFILES,
        Self::PERMISSIONS,
        Self::PROJECTS,
        Self::TENANT_USERS,
        Self::PROJECT_ACCESS,
        Self::PLATFORM_ADMINS,
        Self::WORKFLOWS,
        Self::WORKFLOW_VERSIONS,
        Self::TENANT_QUOTAS,
    ];

    /// The same cache with another capacity (from `CACHE_SIZE`).
    #[must_use]
    pub const fn with_capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// The same cache with another TTL (from `SESSION_TTL`).
    #[must_use]
    pub const fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}
