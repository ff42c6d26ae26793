//! The configuration as the domains read it: `Config` answers the `Settings` port, each
//! domain's section built from the validated values it holds.

use usvc_core::ports::{IdentitySettings, Settings};

use crate::Config;

impl Settings for Config {
    fn identity(&self) -> IdentitySettings {
        IdentitySettings {
            session_idle: self.session_ttl,
            public_url: self.public_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use usvc_core::ports::Settings;

    use crate::{Config, ConfigSources};

    #[test]
    fn the_identity_section_is_read_from_the_layers() {
        let config = Config::load(&ConfigSources {
            file: None,
            env: [
                ("SESSION_TTL".to_owned(), "900".to_owned()),
                ("PUBLIC_URL".to_owned(), "https://id.example.com".to_owned()),
            ]
            .into(),
        })
        .expect("valid");
        let identity = config.identity();
        assert_eq!(identity.session_idle, Duration::from_secs(900));
        assert_eq!(identity.public_url, "https://id.example.com");
    }
}
