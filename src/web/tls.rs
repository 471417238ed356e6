//! TLS served by kvpt itself (`KVPT_TLS_CERT`, `KVPT_TLS_KEY`: PEM): rustls with ring, no
//! OpenSSL; HTTP/2 and HTTP/1.1 offered through ALPN. A certificate that is not yet or no
//! longer valid, or a key that is not the certificate's, stops the start with one line.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("TLS key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("TLS key {key} is not the key of certificate {cert}")]
    Mismatch { cert: String, key: String },
}

/// The server's TLS configuration from a certificate chain and its key.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (cert_name, key_name) = (cert.display().to_string(), key.display().to_string());
    let bad_cert = |reason: String| TlsError::Certificate {
        path: cert_name.clone(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad_cert(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad_cert(e.to_string()))?;
    let first = chain
        .first()
        .ok_or_else(|| bad_cert("no certificate in the file (PEM, BEGIN CERTIFICATE)".into()))?;
    valid_now(first).map_err(bad_cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key_name.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad_cert(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
                cert: cert_name.clone(),
                key: key_name.clone(),
            },
            other => TlsError::Key {
                path: key_name.clone(),
                reason: other.to_string(),
            },
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Whether the certificate is valid now: said with its dates when it is not.
fn valid_now(cert: &CertificateDer<'_>) -> Result<(), String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("cannot be read: {e}"))?;
    let validity = parsed.validity();
    let now = x509_parser::time::ASN1Time::now();
    if now > validity.not_after {
        return Err(format!("expired on {}", validity.not_after));
    }
    if now < validity.not_before {
        return Err(format!("not valid before {}", validity.not_before));
    }
    Ok(())
}
