//! The vocabulary of the programme: kinds of work, statuses, programmes,
//! classification and funding sources, with their Vietnamese and English labels.
//! Pure: no I/O. The database holds the same codes (a test checks they agree).

pub mod investment;
pub mod kind;
pub mod land;
pub mod status;

pub use kind::{looks_like_code, GeometryFamily, LayerGroup, SiteKind};
pub use status::{
    Classification, FundingSource, InvestmentCategory, LandLegalStatus, LandUse, Programme,
    SiteStatus, UserRole, LAND_FIVE_YEARS, LAND_PLAN_PERIOD,
};

/// The name of a district row of the dashboards and reports: its key is the district's
/// code, "" for works abroad, "-" for investments without a district (`area_key`, migration
/// 0040).
pub fn area_name(key: &str, name: &str, lang: crate::i18n::Lang) -> String {
    match key {
        "" => lang
            .pick("Ngoài lãnh thổ (Campuchia)", "Abroad (Cambodia)")
            .to_string(),
        "-" => lang
            .pick(
                "Cấp tỉnh (không gắn địa bàn)",
                "Province-wide (no district)",
            )
            .to_string(),
        _ => name.to_string(),
    }
}
