//! Where values come from and how the layers are merged.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::settings::{setting, SETTINGS};

/// The raw inputs of a configuration: an optional TOML file and an environment.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// The TOML file, if one was named.
    pub file: Option<PathBuf>,
    /// Environment variables (only the names in [`SETTINGS`] are read).
    pub env: HashMap<String, String>,
}

impl ConfigSources {
    /// The process's environment, with the file from `--config` or else `CONFIG_FILE`.
    pub fn from_process(config_flag: Option<PathBuf>) -> Self {
        let env: HashMap<String, String> = std::env::vars().collect();
        let file = config_flag.or_else(|| {
            env.get("CONFIG_FILE")
                .filter(|p| !p.trim().is_empty())
                .map(PathBuf::from)
        });
        Self { file, env }
    }
}

/// Which layer a value came from, shown by `user-service config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// The environment variable of the same name.
    Environment,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Environment => f.write_str("environment"),
        }
    }
}

/// Why the configuration cannot be used. Displays as one line naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value is outside what the setting allows.
    #[error(
        "invalid configuration: {key} = {value:?} (from {origin}): allowed values are {allowed}"
    )]
    Invalid {
        /// The setting's environment name.
        key: String,
        /// The offending value (redacted if secret).
        value: String,
        /// Where it came from.
        origin: String,
        /// What the setting allows.
        allowed: String,
    },
    /// The config file could not be read or parsed.
    #[error("invalid configuration file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The merged raw text of every setting with its source.
pub(crate) struct RawValues {
    values: HashMap<&'static str, (String, Source)>,
}

impl RawValues {
    pub(crate) fn merge(sources: &ConfigSources) -> Result<Self, ConfigError> {
        let file_values = match &sources.file {
            Some(path) => read_file(path)?,
            None => HashMap::new(),
        };
        let mut values = HashMap::new();
        for s in SETTINGS {
            let chosen = if let Some(v) = sources.env.get(s.env) {
                (v.clone(), Source::Environment)
            } else if let Some(v) = file_values.get(s.env) {
                (
                    v.clone(),
                    Source::File(sources.file.clone().unwrap_or_default()),
                )
            } else {
                (s.default.to_owned(), Source::Default)
            };
            values.insert(s.env, chosen);
        }
        Ok(Self { values })
    }

    pub(crate) fn get(&self, key: &'static str) -> &(String, Source) {
        // Every key of SETTINGS was inserted by `merge`; config.rs only asks for those.
        &self.values[key]
    }

    /// Parses one value, turning a parser failure into the one-line error.
    pub(crate) fn parse<T>(
        &self,
        key: &'static str,
        parser: impl FnOnce(&str) -> Result<T, ()>,
    ) -> Result<T, ConfigError> {
        let (raw, source) = self.get(key);
        parser(raw).map_err(|()| {
            let s = setting(key);
            let secret = s.is_some_and(|s| s.secret);
            ConfigError::Invalid {
                key: key.to_owned(),
                value: if secret { "***".into() } else { raw.clone() },
                origin: source.to_string(),
                allowed: s.map_or("", |s| s.allowed).to_owned(),
            }
        })
    }
}

fn read_file(path: &Path) -> Result<HashMap<&'static str, String>, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.message().to_owned()))?;
    let mut out = HashMap::new();
    for (key, value) in table {
        let Some(s) = SETTINGS.iter().find(|s| s.toml_key() == key) else {
            return Err(file_error(format!("unknown key `{key}`")));
        };
        let text = match value {
            toml::Value::String(v) => v,
            toml::Value::Integer(v) => v.to_string(),
            toml::Value::Float(v) => v.to_string(),
            toml::Value::Boolean(v) => v.to_string(),
            other => {
                return Err(file_error(format!(
                    "`{key}` must be a string or a number, not {}",
                    other.type_str()
                )))
            }
        };
        out.insert(s.env, text);
    }
    Ok(out)
}
