//! What a site tile takes besides its address: `as_of`, and the map's filters (`district`,
//! `kind`, `status`, `phase`, `programme`), which the cluster tiles of low zooms apply themselves (a
//! cluster's counts cannot be filtered in the browser).

use chrono::NaiveDate;

use super::ParamError;
use crate::domain::{Programme, SiteKind, SiteStatus};

/// The map's filters, each `None` for any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileFilter {
    pub district: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub phase: Option<i32>,
    pub programme: Option<String>,
}

impl TileFilter {
    /// The filter as one canonical text (what a cached tile is kept under), `None` when it
    /// filters nothing.
    pub fn key(&self) -> Option<Box<str>> {
        let mut parts = Vec::new();
        if let Some(d) = &self.district {
            parts.push(format!("district={d}"));
        }
        if let Some(k) = &self.kind {
            parts.push(format!("kind={k}"));
        }
        if let Some(s) = &self.status {
            parts.push(format!("status={s}"));
        }
        if let Some(p) = self.phase {
            parts.push(format!("phase={p}"));
        }
        if let Some(p) = &self.programme {
            parts.push(format!("programme={p}"));
        }
        (!parts.is_empty()).then(|| parts.join("&").into_boxed_str())
    }
}

/// A tile's query: `as_of` and the filters; anything else is refused, naming it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileQuery {
    pub as_of: Option<NaiveDate>,
    pub filter: TileFilter,
}

impl TileQuery {
    pub fn parse(query: Option<&str>) -> Result<Self, ParamError> {
        let mut out = Self::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.trim();
            let refused = |en: String, vi: String| ParamError::new(name.as_ref(), en).vi(vi);
            match name.as_ref() {
                "as_of" => out.as_of = super::parse_as_of(Some(value))?,
                "district" | "kind" | "status" | "phase" | "programme" if value.is_empty() => {}
                "district" => {
                    let ok = value.len() <= 16
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if !ok {
                        return Err(refused(
                            format!("'{value}' is not a district code"),
                            format!("'{value}' không phải là mã huyện."),
                        ));
                    }
                    out.filter.district = Some(value.to_string());
                }
                "kind" => {
                    let kind = SiteKind::from_code(value).ok_or_else(|| {
                        refused(
                            format!("no kind '{value}'"),
                            format!("không có loại công trình '{value}'."),
                        )
                    })?;
                    out.filter.kind = Some(kind.code().to_string());
                }
                "status" => {
                    let status = SiteStatus::from_code(value).ok_or_else(|| {
                        refused(
                            format!("no status '{value}'"),
                            format!("không có tình trạng '{value}'."),
                        )
                    })?;
                    out.filter.status = Some(status.code().to_string());
                }
                "phase" => {
                    let phase = value.parse::<i32>().ok().filter(|p| (1..=9).contains(p));
                    out.filter.phase = Some(phase.ok_or_else(|| {
                        refused(
                            format!("the phase is a number from 1 to 9, not '{value}'"),
                            format!("giai đoạn là số từ 1 đến 9, không phải '{value}'."),
                        )
                    })?);
                }
                "programme" => {
                    let programme = Programme::from_code(value).ok_or_else(|| {
                        refused(
                            format!("no programme '{value}'"),
                            format!("không có chương trình '{value}'."),
                        )
                    })?;
                    out.filter.programme = Some(programme.code().to_string());
                }
                other => {
                    return Err(ParamError::new(
                        other,
                        "tiles take as_of, district, kind, status, phase and programme",
                    )
                    .vi("ô bản đồ chỉ nhận as_of, district, kind, status, phase và programme."))
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_to_one_canonical_key() {
        let q = TileQuery::parse(Some(
            "programme=mr7_roadmap&status=completed&phase=2&district=705&kind=",
        ))
        .unwrap();
        assert_eq!(
            q.filter.key().as_deref(),
            Some("district=705&status=completed&phase=2&programme=mr7_roadmap")
        );
        assert_eq!(TileQuery::parse(None).unwrap(), TileQuery::default());
        assert_eq!(TileQuery::parse(Some("")).unwrap().filter.key(), None);
    }

    #[test]
    fn bad_filters_name_the_parameter() {
        for (query, param) in [
            ("status=done", "status"),
            ("phase=12", "phase"),
            ("programme=kvpt_2030", "programme"),
            ("kind=castle", "kind"),
            ("district=7%3B0", "district"),
            ("zoom=3", "zoom"),
        ] {
            assert_eq!(
                TileQuery::parse(Some(query)).unwrap_err().param,
                param,
                "{query}"
            );
        }
    }
}
