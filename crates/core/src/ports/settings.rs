use std::time::Duration;

/// What the identity domain (`usvc-user`'s `AuthService`) reads from configuration: the
/// service-wide values each tenant's own settings may override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// A session ends this long after its last refresh unless its tenant sets its own idle
    /// lifetime (`SESSION_TTL`). The absolute lifetime is always the tenant's.
    pub session_idle: Duration,
    /// The service's public base URL, the start of every link in mail (`PUBLIC_URL`).
    pub public_url: String,
}

/// Typed settings, read through a port: a domain asks for its section where it uses it,
/// instead of values copied out of the configuration by the wiring one by one. The config
/// adapter (`usvc-config`'s `Config`) answers from its validated catalogue (defaults < file <
/// environment); a test answers with a mock or [`FixedSettings`]; a team reusing a domain
/// answers from its own configuration system.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Settings: Send + Sync {
    /// The identity domain's section.
    fn identity(&self) -> IdentitySettings;
}

/// Settings known when the program starts, answered as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedSettings {
    /// The identity domain's section.
    pub identity: IdentitySettings,
}

impl Settings for FixedSettings {
    fn identity(&self) -> IdentitySettings {
        self.identity.clone()
    }
}
