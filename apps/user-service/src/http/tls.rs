//! HTTPS in the binary, for single-binary deployments with nothing in front (`TLS_CERT`,
//! `TLS_KEY`): rustls with ring, TLS 1.2 and 1.3 (actix-web sets the ALPN protocols it serves). Where a load
//! balancer or ingress stands in front, TLS ends there instead (docs/operations.md).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The server configuration for the PEM certificate chain at `cert` and key at `key`;
/// start-up stops with the file and the reason when either cannot be read or they do not match.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .with_context(|| format!("TLS_CERT {}: not a PEM certificate chain", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("TLS_CERT {}: no certificate in it", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("TLS_KEY {}: not a PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("TLS_CERT and TLS_KEY do not make a usable pair")
}
