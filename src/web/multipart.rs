//! One way to read a multipart form, for every upload (progress photos, import files):
//! text fields kept by name, each file's bytes written where its caller says as they
//! arrive, and a refusal that tells a too-large body from a malformed one.

use std::collections::HashMap;

use axum::extract::multipart::MultipartError;
use axum::extract::Multipart;
use axum::http::StatusCode;

use crate::error::AppError;

/// Why a form was not read.
#[derive(Debug)]
pub enum Refusal {
    /// Over the route's body limit (the text says so).
    TooLarge(String),
    Error(AppError),
}

impl Refusal {
    fn of(field: &str, e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::TooLarge(e.body_text())
        } else {
            Refusal::Error(AppError::bad_request(field, e.body_text()))
        }
    }
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Error(e)
    }
}

/// A file of the form: the name it was sent with, and where its bytes went.
pub struct File<W> {
    pub name: String,
    pub sink: W,
}

/// Reads `multipart`: the text fields by name, and the files, each written into the sink
/// `open(field, file name)` gives (`None` leaves the file out).
pub async fn read<W: std::io::Write>(
    multipart: &mut Multipart,
    mut open: impl FnMut(&str, &str) -> Result<Option<W>, AppError>,
) -> Result<(HashMap<String, String>, Vec<File<W>>), Refusal> {
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| Refusal::of("form", e))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let text = field.text().await.map_err(|e| Refusal::of(&name, e))?;
            fields.insert(name, text);
            continue;
        };
        let Some(mut sink) = open(&name, &file_name)? else {
            continue;
        };
        while let Some(chunk) = field.chunk().await.map_err(|e| Refusal::of(&name, e))? {
            sink.write_all(&chunk)
                .map_err(|e| Refusal::Error(AppError::Internal(e.into())))?;
        }
        files.push(File {
            name: file_name,
            sink,
        });
    }
    Ok((fields, files))
}
