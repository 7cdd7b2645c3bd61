//! TLS for the hub, through rustls with the `ring` provider.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// A certificate chain and its private key, ready to serve HTTPS (HTTP/2 and HTTP/1.1).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub(crate) config: Arc<ServerConfig>,
}

impl TlsConfig {
    /// From PEM text: the certificate chain (leaf first) and a PKCS#8, PKCS#1 or SEC1 key.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<TlsConfig> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("the certificate chain does not parse: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Tls("no certificate in the certificate file".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| Error::Tls(format!("the private key does not parse: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(format!("the certificate and key do not go together: {e}")))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }

    /// From PEM files.
    pub fn from_pem_files(cert_chain: &Path, key: &Path) -> Result<TlsConfig> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| Error::Tls(format!("cannot read {}: {e}", path.display())))
        };
        TlsConfig::from_pem(&read(cert_chain)?, &read(key)?)
    }
}
