//! `kvpt tls init`: a private certificate authority and a server certificate for a closed
//! network, so phones get the secure context service workers need without a public CA.
//! The CA's key signs once and should then be kept off the server.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use time::{Duration, OffsetDateTime};

/// How long the CA is valid (phones keep it installed).
pub const CA_DAYS: i64 = 3650;
/// How long a server certificate is valid: 825 days, the most iOS accepts.
pub const SERVER_DAYS: i64 = 825;

/// The files `init` writes.
#[derive(Debug, Clone)]
pub struct Written {
    /// Install this on phones and PCs.
    pub ca_cert: PathBuf,
    /// Keep this off the server, somewhere safe: it signs server certificates.
    pub ca_key: PathBuf,
    /// KVPT_TLS_CERT: the server's certificate, then the CA's.
    pub server_cert: PathBuf,
    /// KVPT_TLS_KEY.
    pub server_key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsInitError {
    #[error(
        "no host given: --host takes names and addresses, comma-separated (kvpt.local,10.0.0.5)"
    )]
    NoHost,
    #[error("making the certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("{0} exists: it may be the CA phones already trust; move it away to make new ones")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A CA and a server certificate for `hosts` (DNS names or IP addresses), valid from
/// `not_before` for `server_days`, written under `dir`.
pub fn init(
    dir: &Path,
    hosts: &[String],
    not_before: OffsetDateTime,
    server_days: i64,
) -> Result<Written, TlsInitError> {
    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err(TlsInitError::NoHost);
    }
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, format!("kvpt CA ({})", hosts[0]));
    ca.distinguished_name
        .push(DnType::OrganizationName, "kvpt (mạng nội bộ)");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    // The CA vouches for these names and addresses only: were its key to leak, it still
    // could not speak for any other site to the phones that trust it.
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: hosts
            .iter()
            .map(|h| match h.parse::<std::net::IpAddr>() {
                Ok(ip) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                    ip,
                    if ip.is_ipv4() { 32 } else { 128 },
                )),
                Err(_) => GeneralSubtree::DnsName(h.clone()),
            })
            .collect(),
        excluded_subtrees: Vec::new(),
    });
    ca.not_before = not_before;
    ca.not_after = not_before + Duration::days(CA_DAYS);
    let ca_cert = ca.self_signed(&ca_key)?;
    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(hosts.clone())?;
    server
        .distinguished_name
        .push(DnType::CommonName, hosts[0].clone());
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = not_before;
    server.not_after = not_before + Duration::days(server_days);
    let issuer = Issuer::new(ca, &ca_key);
    let server_cert = server.signed_by(&server_key, &issuer)?;
    let written = Written {
        ca_cert: dir.join("kvpt-ca.pem"),
        ca_key: dir.join("kvpt-ca-key.pem"),
        server_cert: dir.join("kvpt-server.pem"),
        server_key: dir.join("kvpt-server-key.pem"),
    };
    for path in [
        &written.ca_cert,
        &written.ca_key,
        &written.server_cert,
        &written.server_key,
    ] {
        if path.exists() {
            return Err(TlsInitError::Exists(path.clone()));
        }
    }
    let write = |path: &Path, text: &str, private: bool| -> Result<(), TlsInitError> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let file = |source| TlsInitError::File {
            path: path.to_path_buf(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(file)?;
        // Keys are private from their first byte: created 0600, never over another file.
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if private { 0o600 } else { 0o644 })
            .open(path)
            .map_err(file)?;
        out.write_all(text.as_bytes()).map_err(file)
    };
    write(&written.ca_cert, &ca_cert.pem(), false)?;
    write(&written.ca_key, &ca_key.serialize_pem(), true)?;
    write(
        &written.server_cert,
        &format!("{}{}", server_cert.pem(), ca_cert.pem()),
        false,
    )?;
    write(&written.server_key, &server_key.serialize_pem(), true)?;
    Ok(written)
}
