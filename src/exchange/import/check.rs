//! The rules each imported row must keep, given what the database found about it (its
//! geometry, the work its code names): pure, so every rule is tested without a file.

use chrono::NaiveDate;
use serde::Serialize;

use super::rows::Incoming;
use super::{Importer, Problem};
use crate::domain::land::LandPlan;
use crate::domain::{
    looks_like_code, Classification, LandLegalStatus, Programme, SiteKind, SiteStatus,
};
use crate::progress::rules;
use crate::search::rules::Figures;

/// A work as it stands, when the row's code names one.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub kind: String,
    pub classification: Classification,
    pub version: i32,
    pub status: SiteStatus,
    pub percent: i16,
    pub name: String,
    pub name_en: Option<String>,
    pub programme: Programme,
    pub phase: Option<i16>,
    pub unit: Option<String>,
    pub planned_start: Option<NaiveDate>,
    pub planned_finish: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub district_id: Option<i32>,
    /// A search zone's figures.
    pub zone: Option<Figures>,
    /// A defence land parcel's plan, if it has one.
    pub land: Option<LandPlan>,
}

/// What PostGIS found about a row's geometry and code.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// point, line, polygon, or the type's name for anything else.
    pub family: Option<String>,
    pub valid: bool,
    pub reason: Option<String>,
    /// Where it is invalid: in the file's coordinates, then longitude/latitude.
    pub location: Option<[f64; 4]>,
    pub empty: bool,
    pub inside: bool,
    pub outside_km: Option<f64>,
    pub district_id: Option<i32>,
    pub closed_to_polygon: bool,
    /// Rows of the file sharing the code, this one included.
    pub same_code_rows: Vec<i32>,
    /// The work the code names, when the importer may see it (nothing of a work above their
    /// clearance is ever read).
    pub existing: Option<Existing>,
    /// A work the importer may not see holds this code: only that, so a new work cannot
    /// take it.
    pub code_taken: bool,
    /// The geometry matches the work's within a centimetre.
    pub same_geometry: bool,
    /// The deployment reviews engineers' progress updates (issue 24 §6).
    pub review: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Insert,
    Update,
    Unchanged,
    Refused,
}

/// The row as it will be written: the work's whole new state.
#[derive(Debug, Clone)]
pub struct Final {
    pub row: i32,
    pub site_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub kind: SiteKind,
    pub programme: Programme,
    pub phase: Option<i16>,
    pub unit: Option<String>,
    pub classification: Classification,
    pub status: SiteStatus,
    pub percent: i16,
    pub planned_start: Option<NaiveDate>,
    pub planned_finish: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub geom_changed: bool,
    pub progress_changed: bool,
    pub zone: Option<Figures>,
    /// The land-use plan to write (only when the row gave any of its fields).
    pub land: Option<LandPlan>,
    pub note: Option<String>,
    pub correction_reason: Option<String>,
    pub changes: Vec<String>,
}

/// What becomes of one row.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub action: Action,
    pub changes: Vec<String>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub write: Option<Final>,
}

/// Checks `row` against what was `found`, for `who`, on `today`.
pub fn check(mut row: Incoming, found: Found, who: &Importer, today: NaiveDate) -> Outcome {
    let errors = std::mem::take(&mut row.errors);
    let kind_unreadable = errors.iter().any(|e| e.field == "kind");
    let mut c = Checked {
        row: &row,
        found: &found,
        existing: found.existing.as_ref(),
        who,
        code: row.code.clone().unwrap_or_default(),
        errors,
        warnings: Vec::new(),
    };
    c.code();
    // A row without a geometry can only update a work: when its code names none the
    // importer may see, that is all there is to say. A work above their clearance reads
    // exactly like no work (`existing` is `None` for it).
    if c.existing.is_none() && row.wkb.is_none() && looks_like_code(&c.code) {
        let code = c.code.clone();
        c.err(
            "code",
            format!("Không có công trình nào mang mã “{code}” (công trình mới cần có hình học, loại và tên)."),
            format!("no work has code '{code}' (a new work needs a geometry, a kind and a name)"),
        );
        return refused(c.errors, c.warnings);
    }
    let kind = c.kind(kind_unreadable);
    c.geometry(kind);
    c.access();
    let planned = c.numbers_and_dates(kind);
    let update = c.progress(today);
    c.search(kind, today);
    let land = c.land(kind, today);
    let name = row
        .name
        .clone()
        .or_else(|| c.existing.map(|e| e.name.clone()));
    if name.is_none() {
        c.errors.push(Problem::new(
            "name",
            "Thiếu tên cho công trình mới.",
            "a new work needs a name",
        ));
    }
    // A new work's code held by a work the importer may not see: said only when nothing
    // else is wrong, so the row reads like one whose code is free in every other case.
    if c.errors.is_empty() && found.code_taken {
        let code = c.code.clone();
        c.errors.push(Problem::new(
            "code",
            format!("Mã “{code}” đã được dùng; hãy chọn mã khác."),
            format!("code '{code}' is taken; choose another"),
        ));
    }
    let Some(kind) = kind.filter(|_| c.errors.is_empty()) else {
        return refused(c.errors, c.warnings);
    };
    let (code, warnings) = (c.code, c.warnings);
    written(
        &row,
        &found,
        who,
        Written {
            code,
            kind,
            name,
            planned,
            update,
            warnings,
            land,
        },
    )
}

/// A row being checked: what it says, what the database found, who imports, and what is
/// wrong so far. Each section of the rules is one method.
struct Checked<'a> {
    row: &'a Incoming,
    found: &'a Found,
    existing: Option<&'a Existing>,
    who: &'a Importer,
    code: String,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Checked<'_> {
    fn err(&mut self, field: &str, vi: String, en: String) {
        self.errors.push(Problem::new(field, vi, en));
    }

    /// The code: present, shaped like one, once in the file.
    fn code(&mut self) {
        let (row, found) = (self.row, self.found);
        let code = self.code.clone();
        if code.is_empty() {
            self.err("code", "Thiếu mã công trình.".into(), "missing code".into());
        } else if !looks_like_code(&code) {
            self.err(
                "code",
                format!("Mã “{code}” không đúng dạng (ví dụ CHOT-TBI-0012)."),
                format!("code '{code}' is not shaped like CHOT-TBI-0012"),
            );
        }
        if found.same_code_rows.len() > 1 {
            let others: Vec<String> = found
                .same_code_rows
                .iter()
                .filter(|&&r| r as usize != row.row)
                .map(|r| r.to_string())
                .collect();
            self.err(
                "code",
                format!("Mã “{code}” lặp lại ở các dòng {}.", others.join(", ")),
                format!("code '{code}' appears again in rows {}", others.join(", ")),
            );
        }
    }

    /// The kind: given or the work's, never changed by an import; a new work's code
    /// starts with its kind's prefix.
    fn kind(&mut self, kind_unreadable: bool) -> Option<SiteKind> {
        let (row, existing) = (self.row, self.existing);
        let code = self.code.clone();
        let kind = match (row.kind, existing) {
            (Some(k), Some(e)) if k.code() != e.kind => {
                self.err(
                    "kind",
                    format!(
                        "Mã “{code}” là một {} trong kvpt, tệp ghi {}: không đổi loại công trình bằng nhập tệp.",
                        SiteKind::from_code(&e.kind).map_or(e.kind.as_str(), |k| k.label(crate::i18n::Lang::Vi)),
                        k.label(crate::i18n::Lang::Vi)
                    ),
                    format!(
                        "code '{code}' is a {} in kvpt but the file says {}: an import does not change a work's kind",
                        e.kind,
                        k.code()
                    ),
                );
                None
            }
            (Some(k), _) => Some(k),
            (None, Some(e)) => SiteKind::from_code(&e.kind),
            (None, None) => {
                if !kind_unreadable {
                    self.err(
                        "kind",
                        "Thiếu loại công trình (cột kind hoặc chọn loại cho cả tệp).".into(),
                        "missing kind (a kind column, or a kind for the whole file)".into(),
                    );
                }
                None
            }
        };
        if let (Some(k), None) = (kind, existing) {
            if !code.is_empty() && !code.starts_with(&format!("{}-", k.code_prefix())) {
                self.err(
                    "code",
                    format!(
                        "Mã công trình mới loại này phải bắt đầu bằng “{}-”.",
                        k.code_prefix()
                    ),
                    format!(
                        "a new work of this kind needs a code starting '{}-'",
                        k.code_prefix()
                    ),
                );
            }
        }
        kind
    }

    /// The geometry: there for a new work, valid, of the kind's type, in the province.
    fn geometry(&mut self, kind: Option<SiteKind>) {
        let (row, found, existing) = (self.row, self.found, self.existing);
        let has_geometry = row.wkb.is_some();
        if !has_geometry {
            if existing.is_none() {
                self.err(
                    "geometry",
                    "Thiếu hình học (tọa độ) cho công trình mới.".into(),
                    "a new work needs a geometry".into(),
                );
            }
        } else if found.empty {
            self.err("geometry", "Hình học rỗng.".into(), "empty geometry".into());
        } else if !found.valid {
            let reason = found.reason.clone().unwrap_or_default();
            let (vi_at, en_at) = match found.location {
                Some([x, y, lon, lat]) => (
                    format!(" tại {x:.3}, {y:.3} (≈ {lat:.6}°N {lon:.6}°E)"),
                    format!(" at {x:.3}, {y:.3} (≈ {lat:.6}°N {lon:.6}°E)"),
                ),
                None => (String::new(), String::new()),
            };
            self.err(
                "geometry",
                format!("Hình học không hợp lệ: {reason}{vi_at}."),
                format!("invalid geometry: {reason}{en_at}"),
            );
        } else {
            let family = found.family.clone().unwrap_or_default();
            if let Some(k) = kind {
                if !k.families().iter().any(|f| f.code() == family) {
                    let allowed: Vec<&str> = k.families().iter().map(|f| f.code()).collect();
                    self.err(
                        "geometry",
                        format!(
                            "Loại “{}” cần hình học {}, tệp có {}.",
                            k.label(crate::i18n::Lang::Vi),
                            allowed
                                .iter()
                                .map(|f| family_vi(f))
                                .collect::<Vec<_>>()
                                .join(" hoặc "),
                            family_vi(&family)
                        ),
                        format!(
                            "a {} needs a {} geometry, the file has {family}",
                            k.code(),
                            allowed.join(" or ")
                        ),
                    );
                }
            }
            if !found.inside {
                let km = found
                    .outside_km
                    .map(|d| format!("{d:.1}"))
                    .unwrap_or_default();
                let zone = kind == Some(SiteKind::RemainsSearchZone);
                self.err(
                    "geometry",
                    if zone {
                        format!(
                            "Nằm ngoài tỉnh Tây Ninh và các tỉnh Campuchia giáp biên ({} km).",
                            km.replace('.', ",")
                        )
                    } else {
                        format!(
                            "Nằm ngoài tỉnh Tây Ninh ({} km ngoài ranh giới, cho phép {} km).",
                            km.replace('.', ","),
                            super::PROVINCE_BUFFER_M / 1000
                        )
                    },
                    if zone {
                        format!("outside Tây Ninh and the bordering Cambodian provinces ({km} km)")
                    } else {
                        format!(
                            "outside Tây Ninh province ({km} km beyond its boundary; {} km allowed)",
                            super::PROVINCE_BUFFER_M / 1000
                        )
                    },
                );
            }
            if found.closed_to_polygon {
                self.warnings.push(Problem::new(
                    "geometry",
                    "Đường khép kín được đọc thành vùng.",
                    "a closed line was read as a polygon",
                ));
            }
        }
    }

    /// Who may write it: the engineer's districts, the importer's clearance, and only an
    /// administrator lowers a classification.
    fn access(&mut self) {
        let (row, found, existing, who) = (self.row, self.found, self.existing, self.who);
        if let Some(districts) = &who.districts {
            let outside = |d: Option<i32>| d.is_none_or(|d| !districts.contains(&d));
            let moved_out = row.wkb.is_some() && found.valid && outside(found.district_id);
            if existing.is_some_and(|e| outside(e.district_id)) || moved_out {
                self.err(
                    "district",
                    "Công trình ngoài các huyện bạn được giao.".into(),
                    "the work lies outside your districts".into(),
                );
            }
        }
        if let Some(c) = row.classification {
            if c > who.clearance {
                self.err(
                    "classification",
                    "Độ mật cao hơn mức bạn được phép.".into(),
                    "classification above your clearance".into(),
                );
            } else if let Some(e) =
                existing.filter(|e| !e.classification.may_become(c, who.declassify))
            {
                self.err(
                    "classification",
                    format!(
                        "Chỉ quản trị viên được hạ độ mật ({} → {}); bạn chỉ được giữ hoặc nâng.",
                        e.classification.label(crate::i18n::Lang::Vi),
                        c.label(crate::i18n::Lang::Vi)
                    ),
                    format!(
                        "only an administrator may lower a work's classification ({} → {}); you may keep or raise it",
                        e.classification.code(),
                        c.code()
                    ),
                );
            }
        }
    }

    /// Numbers and dates in range, the version the file was made from, planned dates in
    /// order; the planned dates as they will be.
    fn numbers_and_dates(
        &mut self,
        kind: Option<SiteKind>,
    ) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let (row, existing) = (self.row, self.existing);
        if let Some(p) = row.phase {
            if !(1..=9).contains(&p) {
                self.err(
                    "phase",
                    format!("Giai đoạn phải từ 1 đến 9 (nhận {p})."),
                    format!("phase must be 1–9 (got {p})"),
                );
            }
        }
        for (field, value) in [
            ("remains_expected", row.remains_expected),
            ("remains_found", row.remains_found),
        ] {
            if value.is_some_and(|v| !(0..=i64::from(i32::MAX)).contains(&v)) {
                self.err(
                    field,
                    format!("Số hài cốt không hợp lệ ({}).", value.unwrap_or(0)),
                    format!("{field} out of range ({})", value.unwrap_or(0)),
                );
            }
        }
        if row.area_ha.is_some_and(|a| !(0.0..=1e9).contains(&a)) {
            self.err(
                "area_concluded_ha",
                "Diện tích không hợp lệ.".into(),
                "area out of range".into(),
            );
        }
        // Exports write zeros (or nulls) there for other works: only a figure is an error.
        let zone_given = row.remains_expected.is_some_and(|v| v != 0)
            || row.remains_found.is_some_and(|v| v != 0)
            || row.area_ha.is_some_and(|v| v != 0.0)
            || row.map_drawn == Some(true)
            || row.map_drawn_on.is_some()
            || row.concluded_on.is_some()
            || row.unit_in_charge.is_some();
        if zone_given && kind.is_some_and(|k| k != SiteKind::RemainsSearchZone) {
            self.err(
                "remains_expected",
                "Số liệu tìm kiếm hài cốt (hài cốt, diện tích, bản đồ, kết luận, đơn vị phụ trách) chỉ dành cho khu vực tìm kiếm.".into(),
                "search figures (remains, area, map, conclusion, unit in charge) belong to search zones only".into(),
            );
        }
        if let (Some(e), Some(v)) = (existing, row.version) {
            if v != i64::from(e.version) {
                self.err(
                    "version",
                    format!("Công trình đã được cập nhật sau khi xuất tệp (phiên bản tệp {v}, hiện tại {}).", e.version),
                    format!("the work changed after this file was made (file version {v}, now {})", e.version),
                );
            }
        }
        let pick = |field: &str, given: Option<NaiveDate>, old: Option<NaiveDate>| {
            given.or(old).filter(|_| !row.clears(field))
        };
        let planned = (
            pick(
                "planned_start",
                row.planned_start,
                existing.and_then(|e| e.planned_start),
            ),
            pick(
                "planned_finish",
                row.planned_finish,
                existing.and_then(|e| e.planned_finish),
            ),
        );
        if let (Some(s), Some(f)) = planned {
            if f < s {
                self.err(
                    "planned_finish",
                    "Ngày hoàn thành dự kiến trước ngày khởi công.".into(),
                    "planned finish before planned start".into(),
                );
            }
        }
        planned
    }

    /// A search zone's figures, by the rules the search form keeps (the zone's own area is
    /// not known before the write, so that rule is the form's and the API's only).
    fn search(&mut self, kind: Option<SiteKind>, today: NaiveDate) {
        let (row, existing) = (self.row, self.existing);
        if kind != Some(SiteKind::RemainsSearchZone) || !search_given(row) {
            return;
        }
        let before = existing.and_then(|e| e.zone.clone()).unwrap_or_default();
        let after = zone_after(row, existing);
        if self.found.review && !self.who.declassify && after != before {
            self.err(
                "remains_found",
                "Số liệu tìm kiếm do tổ tìm kiếm gửi phải được duyệt: hãy cập nhật qua trang tìm kiếm, Hiện trường hoặc tệp CSV tìm kiếm; tệp nhập không được đổi số liệu tìm kiếm.".into(),
                "search teams' figures wait for review: send them through the search page, the field app or the search CSV; an import may not change a zone's search figures".into(),
            );
            return;
        }
        let broken = crate::search::rules::check(
            &before,
            &after,
            None,
            row.correction_reason.as_deref(),
            None,
            today,
        );
        for v in broken {
            self.errors.push(Problem::new(v.field, v.vi, v.en));
        }
    }

    /// A defence land parcel's plan (issue 24 §2) after the row, when it gives any of its
    /// fields: what it gives, else what the parcel had, by the plan's rules.
    fn land(&mut self, kind: Option<SiteKind>, today: NaiveDate) -> Option<LandPlan> {
        let (g, had) = (&self.row.land, self.existing.and_then(|e| e.land.clone()));
        if !g.any() {
            return None;
        }
        if !self.who.declassify {
            self.err(
                "land_planned_use",
                "Quy hoạch sử dụng đất do quản trị viên và cán bộ ngân sách giữ: tệp của bạn không được có các cột land_*.".into(),
                "administrators and budget officers keep the land-use plan: your file may not set land_* fields".into(),
            );
            return None;
        }
        if kind.is_some_and(|k| k != SiteKind::DefenceLand) {
            self.err(
                "land_planned_use",
                "Chỉ khu đất quốc phòng có quy hoạch sử dụng đất.".into(),
                "only defence land parcels carry a land-use plan".into(),
            );
            return None;
        }
        let had = had.as_ref();
        let five_year = g
            .five_year
            .clone()
            .or_else(|| had.map(|h| h.five_year.clone()));
        let current = g.current_use.or(had.map(|h| h.current_use));
        let planned = g.planned_use.or(had.map(|h| h.planned_use));
        let number = g
            .decision_no
            .clone()
            .or_else(|| had.and_then(|h| h.decision.as_ref().map(|d| d.0.clone())));
        let date = g
            .decision_date
            .or(had.and_then(|h| h.decision.as_ref().map(|d| d.1)));
        let decision = match (number, date) {
            (Some(n), Some(d)) => Some((n, d)),
            (None, None) => None,
            _ => {
                self.err(
                    "land_decision_no",
                    "Quyết định phê duyệt quy hoạch cần cả số và ngày.".into(),
                    "the plan's approval decision needs both its number and its date".into(),
                );
                return None;
            }
        };
        let (Some(five_year), Some(current_use), Some(planned_use)) = (five_year, current, planned)
        else {
            self.err(
                "land_five_year",
                "Quy hoạch sử dụng đất cần kỳ kế hoạch 5 năm (land_five_year), hiện trạng (land_current_use) và quy hoạch sử dụng (land_planned_use).".into(),
                "a land-use plan needs its 5-year period (land_five_year), current use (land_current_use) and planned use (land_planned_use)".into(),
            );
            return None;
        };
        let plan = LandPlan {
            five_year,
            current_use,
            planned_use,
            legal_status: g
                .legal_status
                .or(had.map(|h| h.legal_status))
                .unwrap_or(LandLegalStatus::NoCertificate),
            decision,
        };
        for (field, vi, en) in crate::domain::land::check(&plan, today) {
            let field = if field.starts_with("land_") {
                field.to_string()
            } else {
                format!("land_{field}")
            };
            self.err(&field, vi, en);
        }
        Some(plan)
    }

    /// Progress, by the rules every update keeps; the update as it will be.
    fn progress(&mut self, today: NaiveDate) -> rules::Update {
        let (row, existing) = (self.row, self.existing);
        let current = rules::Progress {
            status: existing.map_or(SiteStatus::Planned, |e| e.status),
            percent: existing.map_or(0, |e| e.percent),
            actual_start: existing.and_then(|e| e.actual_start),
            actual_finish: existing.and_then(|e| e.actual_finish),
        };
        let progress_given = row.status.is_some()
            || row.percent.is_some()
            || row.actual_start.is_some()
            || row.actual_finish.is_some();
        let update = rules::Update {
            status: row.status.unwrap_or(current.status),
            percent: row.percent.unwrap_or(i64::from(current.percent)),
            actual_start: row.actual_start.or(current.actual_start),
            actual_finish: row.actual_finish.or(current.actual_finish),
            note: row.note.clone(),
            correction_reason: row.correction_reason.clone(),
        };
        let changes = (
            update.status,
            update.percent,
            update.actual_start,
            update.actual_finish,
        ) != (
            current.status,
            i64::from(current.percent),
            current.actual_start,
            current.actual_finish,
        );
        if progress_given && changes && self.found.review && !self.who.declassify {
            self.err(
                "status",
                "Tiến độ do kỹ sư gửi phải được duyệt: hãy cập nhật qua trang tiến độ, Hiện trường hoặc tệp CSV tiến độ; tệp nhập không được đổi status, percent, actual_start, actual_finish.".into(),
                "engineers' progress waits for review: send it through the progress page, the field app or the progress CSV; an import may not change status, percent, actual_start or actual_finish".into(),
            );
        } else if progress_given {
            for v in rules::check(&current, &update, today) {
                self.errors.push(Problem::new(v.field, v.vi, v.en));
            }
        }
        update
    }
}

/// What a row that passed writes, and how.
struct Written {
    code: String,
    kind: SiteKind,
    name: Option<String>,
    planned: (Option<NaiveDate>, Option<NaiveDate>),
    update: rules::Update,
    warnings: Vec<Problem>,
    /// The land-use plan after the row, when it gives any of its fields.
    land: Option<LandPlan>,
}

/// The outcome of a row that passed: what changes, and the work's whole new state.
fn written(row: &Incoming, found: &Found, who: &Importer, w: Written) -> Outcome {
    let e = found.existing.as_ref();
    let geom_changed = row.wkb.is_some() && !found.same_geometry;
    let changes = changes_of(row, e, w.kind, geom_changed);
    let action = match e {
        None => Action::Insert,
        Some(_) if changes.is_empty() => Action::Unchanged,
        Some(_) => Action::Update,
    };
    let write = (action != Action::Unchanged)
        .then(|| final_of(row, e, who, &w, changes.clone(), geom_changed));
    Outcome {
        action,
        changes,
        errors: Vec::new(),
        warnings: w.warnings,
        write,
    }
}

/// Whether the row gives any of a search zone's figures.
fn search_given(row: &Incoming) -> bool {
    row.remains_expected.is_some()
        || row.remains_found.is_some()
        || row.area_ha.is_some()
        || row.map_drawn.is_some()
        || row.map_drawn_on.is_some()
        || row.concluded_on.is_some()
        || row.unit_in_charge.is_some()
}

/// A search zone's figures after the row: what it gives, else what the zone had.
fn zone_after(row: &Incoming, e: Option<&Existing>) -> Figures {
    let had = e.and_then(|e| e.zone.clone()).unwrap_or_default();
    let count =
        |given: Option<i64>, had: i32| given.map_or(had, |v| v.clamp(0, i32::MAX.into()) as i32);
    Figures {
        remains_expected: count(row.remains_expected, had.remains_expected),
        remains_found: count(row.remains_found, had.remains_found),
        area_concluded_ha: row.area_ha.unwrap_or(had.area_concluded_ha),
        map_drawn: row.map_drawn.unwrap_or(had.map_drawn),
        map_drawn_on: row.map_drawn_on.or(had.map_drawn_on),
        concluded_on: row.concluded_on.or(had.concluded_on),
        unit_in_charge: row.unit_in_charge.clone().or(had.unit_in_charge),
    }
}

/// The fields the row changes on the work `e` (every one it gives, for a new work).
fn changes_of(
    row: &Incoming,
    e: Option<&Existing>,
    kind: SiteKind,
    geom_changed: bool,
) -> Vec<String> {
    let same = |f: &dyn Fn(&Existing) -> bool| e.is_some_and(f);
    let zone = kind == SiteKind::RemainsSearchZone;
    let had = |e: &Existing| e.zone.clone().unwrap_or_default();
    let area_same = |e: &Existing| {
        row.area_ha
            .is_some_and(|a| (had(e).area_concluded_ha - a).abs() < 0.005)
    };
    let fields = [
        (
            "name",
            row.name.is_some(),
            same(&|e| Some(&e.name) == row.name.as_ref()),
        ),
        (
            "name_en",
            row.name_en.is_some(),
            same(&|e| e.name_en == row.name_en),
        ),
        (
            "status",
            row.status.is_some(),
            same(&|e| Some(e.status) == row.status),
        ),
        (
            "percent",
            row.percent.is_some(),
            same(&|e| Some(i64::from(e.percent)) == row.percent),
        ),
        (
            "phase",
            row.phase.is_some(),
            same(&|e| e.phase.map(i64::from) == row.phase),
        ),
        (
            "programme",
            row.programme.is_some(),
            same(&|e| Some(e.programme) == row.programme),
        ),
        (
            "responsible_unit",
            row.unit.is_some(),
            same(&|e| e.unit == row.unit),
        ),
        (
            "classification",
            row.classification.is_some(),
            same(&|e| Some(e.classification) == row.classification),
        ),
        (
            "planned_start",
            row.planned_start.is_some(),
            same(&|e| e.planned_start == row.planned_start),
        ),
        (
            "planned_finish",
            row.planned_finish.is_some(),
            same(&|e| e.planned_finish == row.planned_finish),
        ),
        (
            "actual_start",
            row.actual_start.is_some(),
            same(&|e| e.actual_start == row.actual_start),
        ),
        (
            "actual_finish",
            row.actual_finish.is_some(),
            same(&|e| e.actual_finish == row.actual_finish),
        ),
        (
            "remains_expected",
            zone && row.remains_expected.is_some(),
            same(&|e| Some(i64::from(had(e).remains_expected)) == row.remains_expected),
        ),
        (
            "remains_found",
            zone && row.remains_found.is_some(),
            same(&|e| Some(i64::from(had(e).remains_found)) == row.remains_found),
        ),
        (
            "area_concluded_ha",
            zone && row.area_ha.is_some(),
            same(&area_same),
        ),
        (
            "map_drawn",
            zone && row.map_drawn.is_some(),
            same(&|e| Some(had(e).map_drawn) == row.map_drawn),
        ),
        (
            "map_drawn_on",
            zone && row.map_drawn_on.is_some(),
            same(&|e| had(e).map_drawn_on == row.map_drawn_on),
        ),
        (
            "concluded_on",
            zone && row.concluded_on.is_some(),
            same(&|e| had(e).concluded_on == row.concluded_on),
        ),
        (
            "unit_in_charge",
            zone && row.unit_in_charge.is_some(),
            same(&|e| had(e).unit_in_charge == row.unit_in_charge),
        ),
        ("geometry", geom_changed, false),
    ];
    let land = kind == SiteKind::DefenceLand;
    let plan = |e: &Existing| e.land.clone();
    let g = &row.land;
    let land_fields = [
        (
            "land_five_year",
            land && g.five_year.is_some(),
            same(&|e| plan(e).map(|p| p.five_year) == g.five_year),
        ),
        (
            "land_current_use",
            land && g.current_use.is_some(),
            same(&|e| plan(e).map(|p| p.current_use) == g.current_use),
        ),
        (
            "land_planned_use",
            land && g.planned_use.is_some(),
            same(&|e| plan(e).map(|p| p.planned_use) == g.planned_use),
        ),
        (
            "land_legal_status",
            land && g.legal_status.is_some(),
            same(&|e| plan(e).map(|p| p.legal_status) == g.legal_status),
        ),
        (
            "land_decision_no",
            land && g.decision_no.is_some(),
            same(&|e| plan(e).and_then(|p| p.decision).map(|d| d.0) == g.decision_no),
        ),
        (
            "land_decision_date",
            land && g.decision_date.is_some(),
            same(&|e| plan(e).and_then(|p| p.decision).map(|d| d.1) == g.decision_date),
        ),
    ];
    let fields = fields.into_iter().chain(land_fields);
    let had_value = |field: &str| {
        e.is_some_and(|e| match field {
            "name_en" => e.name_en.is_some(),
            "phase" => e.phase.is_some(),
            "responsible_unit" => e.unit.is_some(),
            "planned_start" => e.planned_start.is_some(),
            "planned_finish" => e.planned_finish.is_some(),
            _ => false,
        })
    };
    let mut changes: Vec<String> = fields
        .into_iter()
        .filter(|(_, given, same)| *given && !same)
        .map(|(field, ..)| field.to_string())
        .collect();
    for field in &row.cleared {
        if had_value(field) && !changes.iter().any(|c| c == field) {
            changes.push(field.to_string());
        }
    }
    changes
}

/// The work's whole new state: what the row gives, else what the work had, else the
/// defaults of a new work.
fn final_of(
    row: &Incoming,
    e: Option<&Existing>,
    who: &Importer,
    w: &Written,
    changes: Vec<String>,
    geom_changed: bool,
) -> Final {
    let progress_changed = changes.iter().any(|c| {
        matches!(
            c.as_str(),
            "status" | "percent" | "actual_start" | "actual_finish"
        )
    });
    Final {
        row: row.row as i32,
        site_id: e.map(|e| e.id),
        code: w.code.clone(),
        name: w.name.clone().unwrap_or_default(),
        name_en: row
            .name_en
            .clone()
            .or_else(|| e.and_then(|e| e.name_en.clone()))
            .filter(|_| !row.clears("name_en")),
        kind: w.kind,
        programme: row
            .programme
            .or(e.map(|e| e.programme))
            .unwrap_or(Programme::Kvpt2021),
        phase: row
            .phase
            .map(|p| p as i16)
            .or(e.and_then(|e| e.phase))
            .filter(|_| !row.clears("phase")),
        unit: row
            .unit
            .clone()
            .or_else(|| e.and_then(|e| e.unit.clone()))
            .filter(|_| !row.clears("responsible_unit")),
        classification: row
            .classification
            .or(e.map(|e| e.classification))
            .unwrap_or(Classification::Internal.min(who.clearance)),
        status: w.update.status,
        percent: w.update.percent as i16,
        planned_start: w.planned.0,
        planned_finish: w.planned.1,
        actual_start: w.update.actual_start,
        actual_finish: w.update.actual_finish,
        geom_changed,
        progress_changed: progress_changed || e.is_none(),
        zone: (w.kind == SiteKind::RemainsSearchZone).then(|| zone_after(row, e)),
        land: w.land.clone(),
        note: row.note.clone(),
        correction_reason: row.correction_reason.clone(),
        changes,
    }
}

fn refused(errors: Vec<Problem>, warnings: Vec<Problem>) -> Outcome {
    Outcome {
        action: Action::Refused,
        changes: Vec::new(),
        errors,
        warnings,
        write: None,
    }
}

/// A geometry family as Vietnamese pages name it.
fn family_vi(family: &str) -> &str {
    match family {
        "point" => "điểm",
        "line" => "đường",
        "polygon" => "vùng",
        other => other,
    }
}
