//! CSV bulk progress updates: one row per site, every row checked (each against its own
//! savepoint, so one bad row does not hide the next), and nothing written unless every
//! row passes.
//!
//! Columns (header required, any order): `code`, `status`, `percent`, `version`, and
//! optionally `actual_start`, `actual_finish` (dd/mm/yyyy or yyyy-mm-dd), `note`,
//! `correction_reason`. `GET /api/progress/template.csv` gives an engineer's sites in
//! this shape, with their current versions.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Serialize;

use super::rules::Update;
use super::store::{self, Applied, ProgressError, Request};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::SiteStatus;
use crate::i18n::Lang;

/// Largest CSV accepted.
pub const MAX_ROWS: usize = 20_000;

/// What happened to one row.
#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    /// The line in the file (the header is line 1).
    pub line: usize,
    pub code: String,
    pub ok: bool,
    /// Why not, in both languages.
    pub errors: Vec<RowError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_version: Option<i32>,
    /// With review on: the row's update waits for review as this submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub field: String,
    pub vi: String,
    pub en: String,
}

impl RowError {
    fn new(field: &str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            vi: vi.into(),
            en: en.into(),
        }
    }

    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub committed: bool,
    pub rows: Vec<RowReport>,
    /// Problems with the file as a whole (no header, missing column, too many rows).
    pub file_errors: Vec<RowError>,
    #[serde(skip)]
    pub applied: Vec<Applied>,
}

impl Report {
    pub fn failed_rows(&self) -> usize {
        self.rows.iter().filter(|r| !r.ok).count()
    }
}

/// A status by its code or its label in either language ("under_construction",
/// "Đang thi công", "Under construction").
pub fn parse_status(text: &str) -> Option<SiteStatus> {
    let t = text.trim();
    SiteStatus::from_code(t).or_else(|| {
        SiteStatus::ALL.iter().copied().find(|s| {
            s.label(Lang::Vi).eq_ignore_ascii_case(t)
                || s.label(Lang::Vi).to_lowercase() == t.to_lowercase()
                || s.label(Lang::En).eq_ignore_ascii_case(t)
        })
    })
}

const REQUIRED: [&str; 4] = ["code", "status", "percent", "version"];
const KNOWN: [&str; 8] = [
    "code",
    "status",
    "percent",
    "version",
    "actual_start",
    "actual_finish",
    "note",
    "correction_reason",
];

/// A row's line and its request, or its code and what is wrong with it.
pub type ParsedRow = (usize, Result<Request, (String, Vec<RowError>)>);

/// Rows of the file as requests, or the errors of each row that cannot be one.
pub fn parse(data: &[u8]) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if std::str::from_utf8(data).is_err() {
        return Err(vec![RowError::new(
            "file",
            "Tệp không phải văn bản UTF-8 (hãy lưu CSV với mã hóa UTF-8).",
            "the file is not UTF-8 text (save the CSV as UTF-8)",
        )]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_lowercase()).collect(),
        Err(e) => {
            return Err(vec![RowError::new(
                "file",
                format!("Không đọc được dòng tiêu đề: {e}"),
                format!("cannot read the header line: {e}"),
            )])
        }
    };
    let mut file_errors = Vec::new();
    for column in REQUIRED {
        if !headers.iter().any(|h| h == column) {
            file_errors.push(RowError::new(
                column,
                format!("Thiếu cột “{column}”."),
                format!("missing column '{column}'"),
            ));
        }
    }
    for h in &headers {
        if !KNOWN.contains(&h.as_str()) {
            // A header can be anything (a whole file on one line): show its start.
            let h: String = if h.chars().count() > 60 {
                h.chars().take(60).chain(['…']).collect()
            } else {
                h.clone()
            };
            file_errors.push(RowError::new(
                &h,
                format!(
                    "Cột “{h}” không được hỗ trợ; các cột: {}.",
                    KNOWN.join(", ")
                ),
                format!("unknown column '{h}'; columns are {}", KNOWN.join(", ")),
            ));
        }
    }
    if !file_errors.is_empty() {
        return Err(file_errors);
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if out.len() >= MAX_ROWS {
            return Err(vec![RowError::new(
                "file",
                format!("Tệp có quá {MAX_ROWS} dòng; hãy chia nhỏ."),
                format!("more than {MAX_ROWS} rows; split the file"),
            )]);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.push((
                    line,
                    Err((
                        String::new(),
                        vec![RowError::new(
                            "row",
                            format!("Dòng không đọc được: {e}"),
                            format!("unreadable row: {e}"),
                        )],
                    )),
                ));
                continue;
            }
        };
        let get = |name: &str| col(name).and_then(|i| record.get(i)).unwrap_or("").trim();
        let optional = |name: &str| {
            Some(get(name))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let code = get("code").to_string();
        let mut errors = Vec::new();
        let status = parse_status(get("status"));
        if status.is_none() {
            errors.push(RowError::new(
                "status",
                format!("Trạng thái “{}” không hợp lệ.", get("status")),
                format!("unknown status '{}'", get("status")),
            ));
        }
        let percent = get("percent").trim_end_matches('%').trim().parse::<i64>();
        if percent.is_err() {
            errors.push(RowError::new(
                "percent",
                format!("Tỷ lệ “{}” không phải số nguyên.", get("percent")),
                format!("percent '{}' is not a whole number", get("percent")),
            ));
        }
        let version = get("version").parse::<i32>();
        if version.is_err() {
            errors.push(RowError::new(
                "version",
                "Thiếu hoặc sai phiên bản (lấy từ tệp mẫu).",
                "missing or bad version (take it from the template)",
            ));
        }
        let mut date = |name: &'static str| match optional(name) {
            None => None,
            Some(text) => {
                let parsed = crate::params::parse_date(&text);
                if parsed.is_none() {
                    errors.push(RowError::new(
                        name,
                        format!("Ngày “{text}” không hợp lệ (dd/mm/yyyy)."),
                        format!("date '{text}' is not dd/mm/yyyy or yyyy-mm-dd"),
                    ));
                }
                parsed
            }
        };
        let (actual_start, actual_finish) = (date("actual_start"), date("actual_finish"));
        if code.is_empty() {
            errors.push(RowError::new(
                "code",
                "Thiếu mã công trình.",
                "missing site code",
            ));
        }
        match (status, percent, version) {
            (Some(status), Ok(percent), Ok(version)) if errors.is_empty() => out.push((
                line,
                Ok(Request {
                    code,
                    expected_version: version,
                    photos: vec![],
                    audit_note: None,
                    supervising: false,
                    keep: Default::default(),
                    update: Update {
                        status,
                        percent,
                        actual_start,
                        actual_finish,
                        note: optional("note"),
                        correction_reason: optional("correction_reason"),
                    },
                }),
            )),
            _ => out.push((line, Err((code, errors)))),
        }
    }
    if out.is_empty() {
        return Err(vec![RowError::new(
            "file",
            "Tệp không có dòng dữ liệu nào.",
            "the file has no data rows",
        )]);
    }
    Ok(out)
}

/// What a refused row is told; a database failure is not the row's and fails the file.
fn row_errors(err: ProgressError) -> Result<Vec<RowError>, DbError> {
    Ok(match err {
        ProgressError::NotFound(code) => vec![RowError::new(
            "code",
            format!("Không có công trình “{code}”."),
            format!("no site '{code}'"),
        )],
        ProgressError::Forbidden(reason) => vec![RowError::new(
            "code",
            "Công trình ngoài địa bàn hoặc đơn vị được giao cho bạn.",
            reason.clone(),
        )],
        ProgressError::Conflict { expected, current } => vec![RowError::new(
            "version",
            format!(
                "Công trình đã được cập nhật sau phiên bản {expected} (hiện là {}); hãy tải lại tệp mẫu.",
                current.version
            ),
            format!(
                "the site changed since version {expected} (now {}); download the template again",
                current.version
            ),
        )],
        ProgressError::Rules(violations) => violations
            .iter()
            .map(|v| RowError::new(v.field, v.vi.clone(), v.en.clone()))
            .collect(),
        ProgressError::Db(DbError::Constraint { constraint, message }) => {
            vec![RowError::new(&constraint, message.clone(), message)]
        }
        ProgressError::Db(e) => return Err(e),
    })
}

/// Checks and applies every row of `data` for `user`, in one transaction that commits only
/// when every row passes.
pub async fn apply(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    data: &[u8],
    today: NaiveDate,
) -> Result<Report, ProgressError> {
    store::may_update(user)?;
    let rows = match parse(data) {
        Ok(rows) => rows,
        Err(file_errors) => {
            return Ok(Report {
                committed: false,
                rows: vec![],
                file_errors,
                applied: vec![],
            })
        }
    };
    let mut tx = client.transaction().await?;
    let mut seen = HashSet::new();
    let mut report = Report {
        committed: false,
        rows: Vec::with_capacity(rows.len()),
        file_errors: vec![],
        applied: vec![],
    };
    for (line, row) in rows {
        match row {
            Err((code, errors)) => report.rows.push(RowReport {
                line,
                code,
                ok: false,
                errors,
                new_version: None,
                submitted: None,
            }),
            Ok(request) => {
                if !seen.insert(request.code.clone()) {
                    report.rows.push(RowReport {
                        line,
                        code: request.code.clone(),
                        ok: false,
                        errors: vec![RowError::new(
                            "code",
                            "Mã công trình lặp lại trong tệp.",
                            "the same site appears twice in the file",
                        )],
                        new_version: None,
                        submitted: None,
                    });
                    continue;
                }
                let savepoint = tx.savepoint("bulk_row").await?;
                match store::apply_in(&savepoint, user, &request, today).await {
                    Ok(applied) => {
                        savepoint.commit().await?;
                        report.rows.push(RowReport {
                            line,
                            code: request.code.clone(),
                            ok: true,
                            errors: vec![],
                            new_version: Some(applied.state.version),
                            submitted: applied.state.submitted,
                        });
                        report.applied.push(applied);
                    }
                    Err(err) => {
                        savepoint.rollback().await?;
                        report.rows.push(RowReport {
                            line,
                            code: request.code.clone(),
                            ok: false,
                            errors: row_errors(err)?,
                            new_version: None,
                            submitted: None,
                        });
                    }
                }
            }
        }
    }
    if report.failed_rows() == 0 {
        tx.commit().await?;
        report.committed = true;
        store::committed_versions(&*client, &mut report.applied).await?;
    } else {
        tx.rollback().await?;
        report.applied.clear();
        for row in &mut report.rows {
            row.new_version = None;
            row.submitted = None;
        }
    }
    Ok(report)
}

/// The CSV an engineer fills in: their sites (districts or unit) with current values.
pub async fn template(
    client: &impl deadpool_postgres::GenericClient,
    user: &SessionUser,
) -> Result<String, DbError> {
    let rows = super::store::updatable_sites(client, user).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    // A CSV written into memory fails only if memory does.
    let written = |r: csv::Result<()>| r.unwrap_or_else(|e| panic!("writing CSV to memory: {e}"));
    written(out.write_record(KNOWN));
    for r in rows.into_iter().filter(|r| r.progress) {
        let date = |d: Option<NaiveDate>| {
            d.map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_default()
        };
        written(out.write_record([
            r.code,
            r.status,
            r.percent.to_string(),
            r.version.to_string(),
            date(r.actual_start),
            date(r.actual_finish),
            String::new(),
            String::new(),
        ]));
    }
    let bytes = out
        .into_inner()
        .unwrap_or_else(|e| panic!("writing CSV to memory: {e}"));
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_statuses_as_people_type_them() {
        assert_eq!(
            parse_status("Đang thi công"),
            Some(SiteStatus::UnderConstruction)
        );
        assert_eq!(
            parse_status("đang thi công"),
            Some(SiteStatus::UnderConstruction)
        );
        assert_eq!(parse_status("completed"), Some(SiteStatus::Completed));
        assert_eq!(parse_status("Handed over"), Some(SiteStatus::HandedOver));
        assert_eq!(parse_status("done"), None);
    }

    #[test]
    fn a_file_without_required_columns_is_refused_whole() {
        let errors = parse(b"code,percent\nKHO-TBI-1,10\n").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["status", "version"]);
        assert!(parse(b"\xff\xfe,x").is_err(), "not UTF-8");
        assert!(parse(b"code,status,percent,version\n").is_err(), "no rows");
        // An unknown column is named by its start only, however long it is.
        let long = format!("code,status,percent,version,{}\n", "y".repeat(10_000));
        let errors = parse(long.as_bytes()).unwrap_err();
        assert!(
            errors.iter().all(|e| e.en.len() < 300),
            "{:?}",
            errors[0].en.len()
        );
    }

    #[test]
    fn each_bad_row_says_what_is_wrong() {
        let rows = parse(
            "\u{feff}code,status,percent,version,actual_start\n\
             KHO-TBI-1,Đang thi công,40%,3,01/02/2024\n\
             KHO-TBI-2,done,forty,,32/13/2024\n"
                .as_bytes(),
        )
        .unwrap();
        assert!(rows[0].1.is_ok());
        let (code, errors) = rows[1].1.as_ref().unwrap_err();
        assert_eq!(code, "KHO-TBI-2");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["status", "percent", "version", "actual_start"]);
        assert_eq!(rows[1].0, 3, "line numbers count the header");
    }
}
