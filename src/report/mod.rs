//! Official reports ("báo cáo", issue 24 §7): the dashboard's figures for a day and a scope,
//! its late works and flags, the plan by year × source, search coverage, a map drawn by
//! kvpt and the works changed in the period, written as a DOCX in the layout of Nghị định
//! 30/2020/NĐ-CP (`docx`) and turned into PDF by LibreOffice (`pdf`); marked with the
//! highest classification it holds and logged (`log`). It reads only what the requester
//! may see: every figure starts from the dashboard's works at their clearance.

pub mod docx;
pub mod log;
pub mod map;
pub mod pdf;

use chrono::NaiveDate;
use deadpool_postgres::GenericClient;

use crate::db::dashboard::{self, Dashboard, Params, SiteRow};
use crate::db::reports::{self, Change};
use crate::db::DbError;
use crate::domain::Classification;

/// Most late works and changes a report lists (the counts cover them all).
pub const REPORT_LIST_LIMIT: i64 = 200;

/// Who issues reports (Nghị định 30: the body above, then the issuing body).
pub const ISSUER: (&str, &str) = ("UBND TỈNH TÂY NINH", "BỘ CHỈ HUY QUÂN SỰ TỈNH");

/// Where a report is sent unless told otherwise.
pub const RECIPIENTS: &[&str] = &[
    "Bộ Tư lệnh Quân khu 7 (để báo cáo)",
    "Thường trực Tỉnh ủy, UBND tỉnh (để báo cáo)",
    "Các cơ quan, đơn vị liên quan",
];

/// What the requester chose besides the dashboard's day and scope.
#[derive(Debug, Clone)]
pub struct Request {
    /// Number and symbol: "15/BC-BCH".
    pub number: String,
    /// First day of the period whose changes are listed.
    pub from: NaiveDate,
    /// The signer's title and name.
    pub signer: (String, String),
    /// "toàn tỉnh", or the scope in words.
    pub scope_label: String,
    /// The day of issue.
    pub issued: NaiveDate,
    /// What the figures count, when the deployment reviews updates (issue 24 §6).
    pub counted: Option<String>,
}

/// Everything a report says.
#[derive(Debug, Clone)]
pub struct Report {
    pub number: String,
    pub issuer: (String, String),
    pub place: String,
    pub issued: NaiveDate,
    pub as_of: NaiveDate,
    pub from: NaiveDate,
    pub scope_label: String,
    pub subject: String,
    pub marking: Classification,
    pub dashboard: Dashboard,
    pub late: Vec<SiteRow>,
    /// The investments without a place on the map, with their category (at most
    /// [`REPORT_LIST_LIMIT`]), and how many there are, their estimate and disbursement.
    pub investments: Vec<(SiteRow, String)>,
    pub investments_total: [i64; 3],
    pub changes: Vec<Change>,
    pub changes_total: i64,
    pub map_png: Vec<u8>,
    pub signer: (String, String),
    pub recipients: Vec<String>,
    pub counted: Option<String>,
}

/// The map's frame: the scope's district, else the province with its border zone.
const PROVINCE_BOUNDS: [f64; 4] = [105.78, 10.93, 106.52, 11.82];

/// The report for `p` (the dashboard's parameters: clearance, day, scope), whose figures
/// are `dashboard` (computed for the same `p`).
pub async fn gather(
    client: &impl GenericClient,
    p: &Params,
    dashboard: Dashboard,
    request: &Request,
) -> Result<Report, DbError> {
    let late = dashboard::flagged(client, p, "late", REPORT_LIST_LIMIT).await?;
    let from = crate::params::cutoff_of(request.from.pred_opt().unwrap_or(request.from))
        .ok_or_else(|| DbError::Data("period start out of range".into()))?;
    let (changes, changes_total) = reports::changes(client, p, from, REPORT_LIST_LIMIT).await?;
    let (investments, investments_total) =
        reports::investments(client, p, REPORT_LIST_LIMIT).await?;
    let marking = reports::highest_classification(client, p)
        .await?
        .and_then(|c| Classification::from_code(&c))
        .unwrap_or(Classification::Public);
    let outlines: Vec<map::Outline> = reports::outlines(client)
        .await?
        .into_iter()
        .map(|(kind, points)| map::Outline { kind, points })
        .collect();
    let bounds = match &p.scope.district {
        Some(code) => reports::district_bounds(client, code)
            .await?
            .map(|[w, s, e, n]| [w - 0.02, s - 0.02, e + 0.02, n + 0.02])
            .unwrap_or(PROVINCE_BOUNDS),
        None => PROVINCE_BOUNDS,
    };
    let points = reports::points(client, p).await?;
    let map_png = map::render(&outlines, &points, bounds);
    let as_of = p.day();
    Ok(Report {
        number: request.number.clone(),
        issuer: (ISSUER.0.into(), ISSUER.1.into()),
        place: "Tây Ninh".into(),
        issued: request.issued,
        as_of,
        from: request.from,
        subject: format!(
            "Kết quả thực hiện nhiệm vụ xây dựng khu vực phòng thủ {} đến ngày {}",
            request.scope_label,
            crate::i18n::format_date(as_of, crate::i18n::Lang::Vi)
        ),
        scope_label: request.scope_label.clone(),
        marking,
        dashboard,
        late,
        investments,
        investments_total,
        changes,
        changes_total,
        map_png,
        signer: request.signer.clone(),
        recipients: RECIPIENTS.iter().map(|r| r.to_string()).collect(),
        counted: request.counted.clone(),
    })
}
