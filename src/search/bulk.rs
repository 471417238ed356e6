//! CSV bulk updates of search zones, as the search form reads them: one row per zone, every
//! row checked against its own savepoint, nothing written unless every row passes. Each
//! row written is one history row, as from the form.
//!
//! Columns (header required, any order): `code`, `version`, `remains_expected`,
//! `remains_found`, `area_concluded_ha` (a decimal point or comma), `map_drawn` (có/không,
//! x or empty, yes/no, 1/0), `map_drawn_on`, `concluded_on` (dd/mm/yyyy or yyyy-mm-dd,
//! empty when none), `unit_in_charge`, and optionally `note`, `correction_reason`. A row
//! sets the zone's whole figures, as the form does: `GET /api/search/template.csv` gives
//! the zones a user may update with their figures and versions.

use std::collections::HashSet;

use chrono::NaiveDate;
use deadpool_postgres::{GenericClient, Object};

use super::form::{asked_of, FormValues};
use super::rules::yes_no;
use super::store::{self, Outcome, Request, SearchError};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::i18n::{typed_date, Lang};
use crate::progress::bulk::{Report, RowError, RowReport, MAX_ROWS};

const REQUIRED: [&str; 9] = [
    "code",
    "version",
    "remains_expected",
    "remains_found",
    "area_concluded_ha",
    "map_drawn",
    "map_drawn_on",
    "concluded_on",
    "unit_in_charge",
];
const OPTIONAL: [&str; 2] = ["note", "correction_reason"];

/// Whether a CSV's header is a search zones' file (it names a column only they have)
/// rather than a progress one.
pub fn is_search_csv(data: &[u8]) -> bool {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let first = data.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first)
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_lowercase())
        .any(|h| h == "remains_found" || h == "remains_expected" || h == "area_concluded_ha")
}

/// A row's line and its request, or its code and what is wrong with it.
pub type ParsedRow = (usize, Result<Request, (String, Vec<RowError>)>);

fn file_error(field: &str, vi: String, en: String) -> RowError {
    RowError {
        field: field.into(),
        vi,
        en,
    }
}

/// Rows of the file as requests, or the errors of the file as a whole.
pub fn parse(data: &[u8]) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if std::str::from_utf8(data).is_err() {
        return Err(vec![file_error(
            "file",
            "Tệp không phải văn bản UTF-8 (hãy lưu CSV với mã hóa UTF-8).".into(),
            "the file is not UTF-8 text (save the CSV as UTF-8)".into(),
        )]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_lowercase()).collect(),
        Err(e) => {
            return Err(vec![file_error(
                "file",
                format!("Không đọc được dòng tiêu đề: {e}"),
                format!("cannot read the header line: {e}"),
            )])
        }
    };
    let mut errors: Vec<RowError> = REQUIRED
        .iter()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .map(|c| {
            file_error(
                c,
                format!("Thiếu cột “{c}”."),
                format!("missing column '{c}'"),
            )
        })
        .collect();
    let known = || REQUIRED.iter().chain(OPTIONAL.iter());
    for h in headers.iter().filter(|h| !known().any(|k| k == h)) {
        let h: String = h.chars().take(60).collect();
        let all = known().copied().collect::<Vec<_>>().join(", ");
        errors.push(file_error(
            &h,
            format!("Cột “{h}” không được hỗ trợ; các cột: {all}."),
            format!("unknown column '{h}'; columns are {all}"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if out.len() >= MAX_ROWS {
            return Err(vec![file_error(
                "file",
                format!("Tệp có quá {MAX_ROWS} dòng; hãy chia nhỏ."),
                format!("more than {MAX_ROWS} rows; split the file"),
            )]);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let e = file_error(
                    "row",
                    format!("Dòng không đọc được: {e}"),
                    format!("unreadable row: {e}"),
                );
                out.push((line, Err((String::new(), vec![e]))));
                continue;
            }
        };
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        out.push((line, row(get)));
    }
    if out.is_empty() {
        return Err(vec![file_error(
            "file",
            "Tệp không có dòng dữ liệu nào.".into(),
            "the file has no data rows".into(),
        )]);
    }
    Ok(out)
}

/// One row (its cells by column name) as a request, or what is wrong with it.
fn row(get: impl Fn(&str) -> String) -> Result<Request, (String, Vec<RowError>)> {
    let code = get("code");
    let mut errors = Vec::new();
    if code.is_empty() {
        errors.push(file_error(
            "code",
            "Thiếu mã khu vực.".into(),
            "missing zone code".into(),
        ));
    }
    let version = get("version").parse::<i32>().ok();
    if version.is_none() {
        errors.push(file_error(
            "version",
            "Thiếu hoặc sai phiên bản (lấy từ tệp mẫu).".into(),
            "missing or bad version (take it from the template)".into(),
        ));
    }
    let drawn = yes_no(&get("map_drawn"));
    if drawn.is_none() {
        errors.push(file_error(
            "map_drawn",
            format!("“{}”: ghi “có” hoặc “không”.", get("map_drawn")),
            format!("'{}': write yes or no", get("map_drawn")),
        ));
    }
    let values = FormValues {
        remains_expected: get("remains_expected"),
        remains_found: get("remains_found"),
        area_concluded_ha: get("area_concluded_ha"),
        map_drawn: drawn.unwrap_or(false),
        map_drawn_on: get("map_drawn_on"),
        concluded_on: get("concluded_on"),
        unit_in_charge: get("unit_in_charge"),
        ..FormValues::default()
    };
    // The form's reading, its messages in both languages (they come in the same order).
    let asked = match (asked_of(&values, Lang::Vi), asked_of(&values, Lang::En)) {
        (Ok(asked), _) => Some(asked),
        (Err(vi), Err(en)) => {
            errors.extend(
                vi.into_iter()
                    .zip(en)
                    .map(|((field, vi), (_, en))| RowError { field, vi, en }),
            );
            None
        }
        (Err(_), Ok(_)) => None,
    };
    let optional = |name: &str| Some(get(name)).filter(|v| !v.is_empty());
    match (asked, version) {
        (Some(asked), Some(version)) if errors.is_empty() => Ok(Request {
            code,
            version,
            merge: false,
            asked,
            note: optional("note"),
            correction_reason: optional("correction_reason"),
            supervising: false,
            audit_note: None,
        }),
        _ => Err((code, errors)),
    }
}

/// What a refused row is told; a database failure is not the row's and fails the file.
fn row_errors(err: SearchError) -> Result<Vec<RowError>, DbError> {
    Ok(match err {
        SearchError::NotFound(code) => vec![file_error(
            "code",
            format!("Không có khu vực tìm kiếm “{code}”."),
            format!("no search zone '{code}'"),
        )],
        SearchError::Forbidden(reason) => vec![file_error(
            "code",
            "Khu vực ngoài địa bàn, đơn vị của bạn và không do đơn vị bạn phụ trách.".into(),
            reason,
        )],
        SearchError::Conflict { expected, current } => vec![file_error(
            "version",
            format!(
                "Khu vực đã được cập nhật sau phiên bản {expected} (hiện là {}); hãy tải lại tệp mẫu.",
                current.version
            ),
            format!(
                "the zone changed since version {expected} (now {}); download the template again",
                current.version
            ),
        )],
        SearchError::Rules(violations) => violations
            .iter()
            .map(|v| file_error(v.field, v.vi.clone(), v.en.clone()))
            .collect(),
        SearchError::Db(e) => return Err(e),
    })
}

/// Checks and applies every row of `data` for `user`, in one transaction that commits only
/// when every row passes.
pub async fn apply(
    client: &mut Object,
    user: &SessionUser,
    data: &[u8],
    today: NaiveDate,
) -> Result<Report, SearchError> {
    let mut report = Report {
        committed: false,
        rows: vec![],
        file_errors: vec![],
        applied: vec![],
    };
    let rows = match parse(data) {
        Ok(rows) => rows,
        Err(file_errors) => {
            report.file_errors = file_errors;
            return Ok(report);
        }
    };
    let mut tx = client.transaction().await?;
    let mut seen = HashSet::new();
    for (line, parsed) in rows {
        let mut reported = RowReport {
            line,
            code: String::new(),
            ok: false,
            errors: vec![],
            new_version: None,
            submitted: None,
        };
        match parsed {
            Err((code, errors)) => (reported.code, reported.errors) = (code, errors),
            Ok(request) if !seen.insert(request.code.clone()) => {
                reported.code = request.code;
                reported.errors = vec![file_error(
                    "code",
                    "Mã khu vực lặp lại trong tệp.".into(),
                    "the same zone appears twice in the file".into(),
                )];
            }
            Ok(request) => {
                reported.code = request.code.clone();
                let savepoint = tx.savepoint("bulk_row").await?;
                match store::apply_in(&savepoint, user, &request, today).await {
                    Ok(Outcome::Applied { state, .. }) => {
                        savepoint.commit().await?;
                        reported.ok = true;
                        reported.new_version = Some(state.version);
                    }
                    Ok(Outcome::Submitted { submission, .. }) => {
                        savepoint.commit().await?;
                        reported.ok = true;
                        reported.submitted = Some(submission);
                    }
                    // An exact version never crosses: a later one is a conflict.
                    Ok(Outcome::Crossed { .. }) => {
                        savepoint.rollback().await?;
                        reported.errors = vec![file_error(
                            "version",
                            "Khu vực đã thay đổi; hãy tải lại tệp mẫu.".into(),
                            "the zone changed; download the template again".into(),
                        )];
                    }
                    Err(err) => {
                        savepoint.rollback().await?;
                        reported.errors = row_errors(err)?;
                    }
                }
            }
        }
        report.rows.push(reported);
    }
    if report.failed_rows() == 0 {
        tx.commit().await?;
        report.committed = true;
    } else {
        tx.rollback().await?;
        for row in &mut report.rows {
            row.new_version = None;
            row.submitted = None;
        }
    }
    Ok(report)
}

/// The CSV a search team fills in: the zones `user` may update, with their figures.
pub async fn template(client: &impl GenericClient, user: &SessionUser) -> Result<String, DbError> {
    let zones = store::updatable_zones(client, user).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    // A CSV written into memory fails only if memory does.
    let written = |r: csv::Result<()>| r.unwrap_or_else(|e| panic!("writing CSV to memory: {e}"));
    written(out.write_record(REQUIRED.iter().chain(OPTIONAL.iter())));
    for z in zones {
        let f = &z.figures;
        written(out.write_record([
            z.code.clone(),
            z.version.to_string(),
            f.remains_expected.to_string(),
            f.remains_found.to_string(),
            format!("{:.2}", f.area_concluded_ha),
            if f.map_drawn { "có" } else { "không" }.to_string(),
            typed_date(f.map_drawn_on),
            typed_date(f.concluded_on),
            f.unit_in_charge.clone().unwrap_or_default(),
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

    const HEADER: &str = "code,version,remains_expected,remains_found,area_concluded_ha,map_drawn,map_drawn_on,concluded_on,unit_in_charge,note\n";

    #[test]
    fn a_search_file_is_told_from_a_progress_file_by_its_header() {
        assert!(is_search_csv(format!("\u{feff}{HEADER}").as_bytes()));
        assert!(!is_search_csv(b"code,status,percent,version\n"));
    }

    #[test]
    fn rows_are_read_as_the_form_reads_them_and_each_error_is_said_in_both_languages() {
        let rows = parse(
            format!(
                "{HEADER}KVTK-1,3,12,4,\"12,5\",có,01/02/2025,,Đội K70,đo lại\n\
                 KVTK-2,x,-1,4,abc,maybe,32/13/2025,,,\n"
            )
            .as_bytes(),
        )
        .unwrap();
        let ok = rows[0].1.as_ref().unwrap();
        assert_eq!(ok.asked.area_concluded_ha, Some(12.5));
        assert_eq!(ok.asked.map_drawn, Some(true));
        assert_eq!(ok.asked.concluded_on, Some(None));
        assert_eq!(ok.note.as_deref(), Some("đo lại"));
        let (code, errors) = rows[1].1.as_ref().unwrap_err();
        assert_eq!(code, "KVTK-2");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "version",
                "map_drawn",
                "remains_expected",
                "area_concluded_ha",
                "map_drawn_on"
            ]
        );
        assert!(errors
            .iter()
            .all(|e| !e.vi.is_empty() && !e.en.is_empty() && e.vi != e.en));
        assert_eq!(rows[1].0, 3, "line numbers count the header");
    }

    #[test]
    fn a_file_missing_columns_is_refused_whole() {
        let errors = parse(b"code,version,remains_found\nKVTK-1,1,2\n").unwrap_err();
        assert!(errors.iter().any(|e| e.field == "area_concluded_ha"));
        assert!(parse(HEADER.as_bytes()).is_err(), "no rows");
        let errors = parse(format!("{},extra\n", HEADER.trim_end()).as_bytes()).unwrap_err();
        assert_eq!(errors[0].field, "extra");
    }
}
