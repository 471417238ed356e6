//! `kvpt tls init --host NAME[,IP…]`: a private CA and a server certificate for a closed
//! network, and how to install the CA on phones and PCs.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::ops::tls;

#[derive(Debug, Subcommand)]
pub enum TlsAction {
    /// Make a private CA and a certificate for this server (HTTPS on a closed network).
    Init {
        /// The names and addresses phones use to reach kvpt, comma-separated
        /// (kvpt.bchqs.local,10.20.0.5).
        #[arg(long, value_delimiter = ',', required = true)]
        host: Vec<String>,
        /// Where to write the four files.
        #[arg(long, default_value = "var/tls")]
        out: PathBuf,
    },
}

pub fn run(action: TlsAction) -> anyhow::Result<()> {
    let TlsAction::Init { host, out } = action;
    // A day back: a phone whose clock is a little behind still accepts it.
    let written = tls::init(
        &out,
        &host,
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
        tls::SERVER_DAYS,
    )?;
    print!("{}", instructions(&written, &host));
    Ok(())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// What to do with the files, on the server and on each kind of device.
fn instructions(w: &tls::Written, hosts: &[String]) -> String {
    let url = format!("https://{}:8443/", hosts[0].trim());
    format!(
        "Wrote:
  {ca}          the CA: install it on every phone and PC (below)
  {ca_key}      the CA's key: move it off the server, keep it safe (it signs new certificates)
  {cert}      the server's certificate (valid {days} days)
  {key}  the server's key

Serve HTTPS:
  KVPT_TLS_CERT={cert} KVPT_TLS_KEY={key} KVPT_ADDR=0.0.0.0:8443 kvpt serve
  then open {url}

Cài chứng chỉ CA (install the CA) — copy {ca} to the device, then:
  Android: Cài đặt → Bảo mật → Mã hóa và thông tin xác thực → Cài đặt chứng chỉ → Chứng chỉ CA
           (Settings → Security → Encryption & credentials → Install a certificate → CA certificate)
  iOS:     open the file (AirDrop or mail) → Cài đặt → Đã tải về hồ sơ → Cài đặt; then
           Cài đặt chung → Giới thiệu → Cài đặt tin cậy chứng nhận → bật kvpt CA
           (Settings → Profile Downloaded → Install; General → About → Certificate Trust Settings)
  Windows: double-click → Install Certificate → Local Machine → Trusted Root Certification Authorities
  Linux:   cp {ca} /usr/local/share/ca-certificates/kvpt-ca.crt && update-ca-certificates
           (Chromium and Firefox: Settings → Privacy and security → Certificates → Authorities → Import)
",
        ca = shown(&w.ca_cert),
        ca_key = shown(&w.ca_key),
        cert = shown(&w.server_cert),
        key = shown(&w.server_key),
        days = tls::SERVER_DAYS,
    )
}
