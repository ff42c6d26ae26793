//! `usvc-config` (CoreConfig): the service's settings, layered
//! defaults < optional TOML file (`--config PATH` or `CONFIG_FILE`) < environment.
//!
//! Every setting is declared once in [`settings::SETTINGS`] with its environment name, default,
//! what is allowed and whether it is secret; parsing, `user-service config` output and the README
//! table all follow from that list. A bad value stops start-up with one line naming the key,
//! where it came from and what is allowed.

mod config;
mod domain_settings;
mod load;
mod settings;
mod values;

pub use config::{Config, DatabaseKind, Environment, LogLevel};
pub use load::{ConfigError, ConfigSources, Source};
pub use settings::{Setting, SETTINGS};
