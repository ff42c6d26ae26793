//! Parsers for setting values. Each returns `Err(())`; the caller adds the key, source and
//! allowed values to the message, so every error reads the same way.

use std::net::IpAddr;

pub(crate) fn number<T: std::str::FromStr + PartialOrd + Copy>(
    raw: &str,
    min: T,
    max: T,
) -> Result<T, ()> {
    let value: T = raw.trim().parse().map_err(|_| ())?;
    if value < min || value > max {
        return Err(());
    }
    Ok(value)
}

pub(crate) fn ip(raw: &str) -> Result<IpAddr, ()> {
    raw.trim().parse().map_err(|_| ())
}

/// Comma-separated networks in CIDR form (a bare address is its own /32 or /128).
pub(crate) fn networks(raw: &str) -> Result<Vec<ipnet::IpNet>, ()> {
    raw.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ())
        })
        .collect()
}

/// [`networks`] without `/0`: trusting every address would let any client name its own.
pub(crate) fn proxy_networks(raw: &str) -> Result<Vec<ipnet::IpNet>, ()> {
    let nets = networks(raw)?;
    if nets.iter().any(|n| n.prefix_len() == 0) {
        Err(())
    } else {
        Ok(nets)
    }
}

pub(crate) fn boolean(raw: &str) -> Result<bool, ()> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(()),
    }
}

pub(crate) fn optional_smtp_url(raw: &str) -> Result<Option<String>, ()> {
    let v = raw.trim();
    if v.is_empty() {
        Ok(None)
    } else if v.starts_with("smtp://") || v.starts_with("smtps://") {
        Ok(Some(v.to_owned()))
    } else {
        Err(())
    }
}

/// Empty, or a secret of 32-512 visible ASCII characters.
pub(crate) fn optional_token(raw: &str) -> Result<Option<String>, ()> {
    let v = raw.trim();
    if v.is_empty() {
        Ok(None)
    } else if (32..=512).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Some(v.to_owned()))
    } else {
        Err(())
    }
}

pub(crate) fn non_empty(raw: &str) -> Result<String, ()> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        Err(())
    } else {
        Ok(trimmed.to_owned())
    }
}

pub(crate) fn optional_http_url(raw: &str) -> Result<Option<String>, ()> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        Ok(None)
    } else if (trimmed.starts_with("http://") || trimmed.starts_with("https://"))
        && trimmed.len() > "https://".len()
    {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(())
    }
}

/// Empty, or 32 bytes of standard base64 (44 characters ending in `=`).
pub(crate) fn optional_base64_key(raw: &str) -> Result<Option<String>, ()> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let valid = trimmed.len() == 44
        && trimmed.ends_with('=')
        && trimmed[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if valid {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(())
    }
}

/// Hides the secrets of a URL: the password of `scheme://user:password@host/db` and the value
/// of any query parameter whose name suggests a secret (`password`, `token`, `secret`, `key`).
pub(crate) fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => base.to_owned(),
            },
            None => base.to_owned(),
        },
        None => base.to_owned(),
    };
    let Some(query) = query else { return base };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "secret", "token", "key", "auth"]
        .iter()
        .any(|s| name.contains(s))
}

/// Empty, or a path (no control characters: a pasted newline is a mistake, not a name).
pub(crate) fn optional_path(raw: &str) -> Result<Option<std::path::PathBuf>, ()> {
    let v = raw.trim();
    if v.chars().any(char::is_control) {
        return Err(());
    }
    Ok((!v.is_empty()).then(|| std::path::PathBuf::from(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_cidrs_or_addresses() {
        let nets = networks(" 10.0.0.0/8, 127.0.0.1 ,::1").unwrap();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        assert_eq!(networks(""), Ok(vec![]));
        assert_eq!(networks("10.0.0.0/33"), Err(()));
        assert_eq!(networks("intranet"), Err(()));
    }

    #[test]
    fn proxies_may_not_be_everyone() {
        assert_eq!(proxy_networks("0.0.0.0/0"), Err(()));
        assert_eq!(proxy_networks("10.0.0.1, ::/0"), Err(()));
        assert_eq!(proxy_networks("172.28.0.10").map(|n| n.len()), Ok(1));
        assert_eq!(proxy_networks(""), Ok(vec![]));
    }

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(number::<u16>("8008", 0, u16::MAX), Ok(8008));
        assert_eq!(number::<u64>("0", 1, 5), Err(()));
        assert_eq!(number::<u16>("70000", 0, u16::MAX), Err(()));
        assert_eq!(number::<u16>("abc", 0, u16::MAX), Err(()));
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/users"),
            "postgres://app:***@db:5432/users"
        );
        assert_eq!(
            redact_url("postgres://app@db/users"),
            "postgres://app@db/users"
        );
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
        assert_eq!(
            redact_url("postgres://db/users?sslmode=require&password=hunter2"),
            "postgres://db/users?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("https://u:p@otel:4318?api_key=abc"),
            "https://u:***@otel:4318?api_key=***"
        );
    }
}
