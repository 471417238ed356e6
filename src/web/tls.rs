//! TLS served by kvpt itself (`KVPT_TLS_CERT`, `KVPT_TLS_KEY`: PEM): rustls with ring, no
//! OpenSSL; HTTP/2 and HTTP/1.1 offered through ALPN. A certificate that is not yet or no
//! longer valid (or an intermediate of its chain), a chain out of order, a key other users
//! may read or that is not the certificate's, stops the start with one line.

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
    if chain.is_empty() {
        return Err(bad_cert(
            "no certificate in the file (PEM, BEGIN CERTIFICATE)".into(),
        ));
    }
    whole_chain(&chain).map_err(bad_cert)?;
    private_to_owner(key).map_err(|reason| TlsError::Key {
        path: key_name.clone(),
        reason,
    })?;
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

/// Every certificate of the chain valid now, each issued by the next (the server's first,
/// then its intermediates): a phone refuses a chain with an expired intermediate or one in
/// the wrong order, so kvpt does not start with it.
fn whole_chain(chain: &[CertificateDer<'_>]) -> Result<(), String> {
    let mut parsed = Vec::with_capacity(chain.len());
    for (i, cert) in chain.iter().enumerate() {
        let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref())
            .map_err(|e| format!("certificate {} of the file cannot be read: {e}", i + 1))?;
        valid_now(&c).map_err(|e| match i {
            0 => e,
            _ => format!("certificate {} of the chain ({}) {e}", i + 1, c.subject()),
        })?;
        parsed.push(c);
    }
    for (i, pair) in parsed.windows(2).enumerate() {
        let signed = pair[0].issuer().as_raw() == pair[1].subject().as_raw()
            && pair[0].verify_signature(Some(pair[1].public_key())).is_ok();
        if !signed {
            return Err(format!(
                "certificate {} ({}) did not issue certificate {} (issued by {}): put the chain in order, the server's certificate first",
                i + 2,
                pair[1].subject(),
                i + 1,
                pair[0].issuer()
            ));
        }
    }
    Ok(())
}

/// The key file readable by its owner (and at most its group, as Debian's ssl-cert group
/// does), writable by nobody else.
fn private_to_owner(key: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o027 != 0 {
            return Err(format!(
                "other users may read or change it (mode {mode:04o}): chmod 600 {}",
                key.display()
            ));
        }
    }
    Ok(())
}

/// Whether the certificate is valid now: said with its dates when it is not.
fn valid_now(parsed: &x509_parser::certificate::X509Certificate<'_>) -> Result<(), String> {
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
