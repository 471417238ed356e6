//! A report's PDF: its DOCX converted by LibreOffice, headless, in a private profile and
//! folder per conversion (conversions at once do not share LibreOffice's user profile).
//! `KVPT_SOFFICE` names the program when it is not `soffice` on the PATH.

use std::time::Duration;

/// Why no PDF could be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("LibreOffice (soffice) could not be run: {0}; install libreoffice-writer-nogui")]
    Missing(std::io::Error),
    #[error("LibreOffice did not convert the report: {0}")]
    Failed(String),
    #[error("LibreOffice took longer than {0:?}")]
    Timeout(Duration),
    #[error("temporary folder: {0}")]
    Io(#[from] std::io::Error),
}

/// How long one conversion may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The program that converts.
pub fn soffice() -> String {
    std::env::var("KVPT_SOFFICE").unwrap_or_else(|_| "soffice".into())
}

/// `docx` as PDF, converted by LibreOffice.
pub async fn convert(docx: &[u8]) -> Result<Vec<u8>, PdfError> {
    let dir = crate::exchange::export::TempDir::new()?;
    let input = dir.path.join("bao-cao.docx");
    tokio::fs::write(&input, docx).await?;
    let profile = format!("file://{}", dir.path.join("profile").display());
    let mut command = tokio::process::Command::new(soffice());
    command
        .arg(format!("-env:UserInstallation={profile}"))
        .args([
            "--headless",
            "--norestore",
            "--nologo",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(&dir.path)
        .arg(&input)
        .env("HOME", &dir.path)
        .kill_on_drop(true)
        // Its own process group: soffice starts soffice.bin as a child, which a timeout
        // must stop too.
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().map_err(PdfError::Missing)?;
    let group = child.id();
    let output = match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
        Err(_) => {
            if let Some(pid) = group {
                // SAFETY: a plain system call on the process group kvpt started.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
            return Err(PdfError::Timeout(TIMEOUT));
        }
        Ok(Err(e)) => return Err(PdfError::Io(e)),
        Ok(Ok(o)) => o,
    };
    let made = dir.path.join("bao-cao.pdf");
    match tokio::fs::read(&made).await {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(PdfError::Failed(format!(
            "{}; {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}
