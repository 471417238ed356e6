//! The attributes a work can carry out of kvpt, and back in: one table that the export
//! query, every writer, the profile allow-list and the importer all read.

use crate::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Integer,
    Real,
    Date,
    DateTime,
}

/// One exchangeable attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its name in GeoJSON, GeoPackage, KML, CSV and FlatGeobuf.
    pub name: &'static str,
    /// Its name in a Shapefile's DBF: at most 10 characters, the same in every export,
    /// and read back by the importer.
    pub short: &'static str,
    pub ty: FieldType,
    /// SQL giving its value now, over `site s`, `site_kind k`, district `d`, commune `c`,
    /// Cambodian province `a`, budget totals `b`, search zone `z` and land plan `l`.
    sql: &'static str,
    /// SQL giving its value as of a past moment from the progress history row `h`;
    /// `None` when it does not change with progress.
    sql_as_of: Option<&'static str>,
    vi: &'static str,
    en: &'static str,
}

impl Field {
    pub fn sql(&self, as_of: bool) -> &'static str {
        match (as_of, self.sql_as_of) {
            (true, Some(sql)) => sql,
            _ => self.sql,
        }
    }

    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.vi, self.en)
    }

    /// True for the budget totals, which need the budget join.
    pub fn is_budget(&self) -> bool {
        self.name.ends_with("_vnd")
    }

    /// True for the search-zone figures, which need the search_zone join.
    pub fn is_search(&self) -> bool {
        self.name.starts_with("remains_")
            || matches!(
                self.name,
                "area_concluded_ha"
                    | "map_drawn"
                    | "map_drawn_on"
                    | "concluded_on"
                    | "unit_in_charge"
            )
    }

    /// True for the land-use plan's fields, which need the land_parcel join (the area is
    /// the work's own).
    pub fn is_land(&self) -> bool {
        self.name.starts_with("land_") && self.name != "land_area_m2"
    }

    pub fn from_name(name: &str) -> Option<&'static Field> {
        FIELDS.iter().find(|f| f.name == name)
    }

    /// By its long or its Shapefile name, case ignored (DBF names come back upper-cased
    /// from some tools).
    pub fn from_any_name(name: &str) -> Option<&'static Field> {
        FIELDS
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name) || f.short.eq_ignore_ascii_case(name))
    }
}

macro_rules! fields {
    ($( $name:literal, $short:literal, $ty:ident, $sql:literal, $as_of:expr, $vi:literal, $en:literal; )+) => {
        /// Every exchangeable attribute, in the order exports write them.
        pub const FIELDS: &[Field] = &[$(Field {
            name: $name, short: $short, ty: FieldType::$ty, sql: $sql, sql_as_of: $as_of,
            vi: $vi, en: $en,
        }),+];
    };
}

fields! {
    "code", "code", Text, "s.code", None, "Mã", "Code";
    "name", "name", Text, "s.name", None, "Tên", "Name";
    "name_en", "name_en", Text, "s.name_en", None, "Tên tiếng Anh", "English name";
    "kind", "kind", Text, "s.kind", None, "Loại", "Kind";
    "layer", "layer", Text, "k.layer_group", None, "Lớp", "Layer";
    "status", "status", Text, "s.status::text", Some("coalesce(h.new_status::text, 'planned')"),
        "Trạng thái", "Status";
    "percent", "percent", Integer, "s.progress_pct::int8", Some("coalesce(h.new_pct, 0)::int8"),
        "Tiến độ (%)", "Percent complete";
    "district", "district", Text, "coalesce(d.short_name, a.name_vi, a.name)", None,
        "Huyện / tỉnh CPC", "District / Cambodian province";
    "district_code", "dist_code", Text, "coalesce(d.code, a.code)", None, "Mã huyện", "District code";
    "commune", "commune", Text, "c.name", None, "Xã", "Commune";
    "country", "country", Text, "CASE WHEN s.foreign_area_id IS NULL THEN 'VN' ELSE 'KH' END", None,
        "Quốc gia", "Country";
    "phase", "phase", Integer, "s.phase::int8", None, "Giai đoạn", "Phase";
    "programme", "programme", Text, "s.programme::text", None, "Chương trình", "Programme";
    "responsible_unit", "unit", Text, "s.responsible_unit", None, "Đơn vị phụ trách", "Responsible unit";
    "classification", "classif", Text, "s.classification::text", None, "Độ mật", "Classification";
    "planned_start", "plan_start", Date, "s.planned_start", None, "Khởi công dự kiến", "Planned start";
    "planned_finish", "plan_end", Date, "s.planned_finish", None, "Hoàn thành dự kiến", "Planned finish";
    "actual_start", "act_start", Date, "s.actual_start", Some("h.actual_start"),
        "Khởi công thực tế", "Actual start";
    "actual_finish", "act_end", Date, "s.actual_finish", Some("h.actual_finish"),
        "Hoàn thành thực tế", "Actual finish";
    "updated_at", "updated", DateTime, "s.updated_at", Some("h.recorded_at"),
        "Cập nhật lần cuối", "Last updated";
    "version", "version", Integer, "s.version::int8", Some("h.site_version::int8"),
        "Phiên bản", "Version";
    "estimate_vnd", "estimate", Integer, "coalesce(b.estimate, 0)::int8", None,
        "Dự toán (đồng)", "Estimate (VND)";
    "allocated_vnd", "allocated", Integer, "coalesce(b.allocated, 0)::int8", None,
        "Vốn giao (đồng)", "Allocated (VND)";
    "disbursed_vnd", "disbursed", Integer, "coalesce(b.disbursed, 0)::int8", None,
        "Giải ngân (đồng)", "Disbursed (VND)";
    "settled_vnd", "settled", Integer, "coalesce(b.settled, 0)::int8", None,
        "Quyết toán (đồng)", "Settled (VND)";
    "remains_expected", "rem_expect", Integer, "z.remains_expected::int8", None,
        "Hài cốt dự kiến", "Remains expected";
    "remains_found", "rem_found", Integer, "z.remains_found::int8", None,
        "Hài cốt đã quy tập", "Remains found";
    "area_concluded_ha", "area_ha", Real, "z.area_concluded_ha::float8", None,
        "Diện tích đã kết luận (ha)", "Area concluded (ha)";
    "map_drawn", "map_drawn", Integer, "z.map_drawn::int4::int8", None,
        "Đã vẽ bản đồ tìm kiếm (1/0)", "Search map drawn (1/0)";
    "map_drawn_on", "map_date", Date, "z.map_drawn_on", None,
        "Ngày vẽ bản đồ", "Map drawn on";
    "concluded_on", "concl_on", Date, "z.concluded_on", None,
        "Ngày kết luận địa bàn", "Concluded on";
    "unit_in_charge", "unit_chg", Text, "z.unit_in_charge", None,
        "Đơn vị tìm kiếm phụ trách", "Search unit in charge";
    "land_area_m2", "land_m2", Real, "s.land_area_m2", None,
        "Diện tích đất QP (m², VN-2000)", "Defence land area (m², VN-2000)";
    "land_five_year", "land_5y", Text, "l.five_year", None,
        "Kỳ kế hoạch sử dụng đất", "Land plan 5-year period";
    "land_current_use", "land_now", Text, "l.current_use::text", None,
        "Hiện trạng sử dụng đất", "Current land use";
    "land_planned_use", "land_plan", Text, "l.planned_use::text", None,
        "Quy hoạch sử dụng đất", "Planned land use";
    "land_legal_status", "land_legal", Text, "l.legal_status::text", None,
        "Tình trạng pháp lý đất", "Land legal status";
    "land_decision_no", "land_dec", Text, "l.decision_no", None,
        "Số quyết định quy hoạch đất", "Land plan decision number";
    "land_decision_date", "land_decdt", Date, "l.decision_date", None,
        "Ngày quyết định quy hoạch đất", "Land plan decision date";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapefile_names_fit_and_never_clash() {
        for f in FIELDS {
            assert!(f.short.len() <= 10, "{} → {}", f.name, f.short);
            assert!(f.short.is_ascii());
        }
        for (i, a) in FIELDS.iter().enumerate() {
            for b in &FIELDS[i + 1..] {
                assert!(!a.name.eq_ignore_ascii_case(b.name), "{}", a.name);
                assert!(!a.short.eq_ignore_ascii_case(b.short), "{}", a.short);
                assert!(!a.short.eq_ignore_ascii_case(b.name), "{}", a.short);
            }
        }
    }

    #[test]
    fn found_by_either_name() {
        assert_eq!(
            Field::from_any_name("PLAN_END").unwrap().name,
            "planned_finish"
        );
        assert_eq!(
            Field::from_any_name("planned_finish").unwrap().short,
            "plan_end"
        );
        assert!(Field::from_any_name("geom").is_none());
    }
}
