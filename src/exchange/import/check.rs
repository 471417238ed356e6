//! The rules each imported row must keep, given what the database found about it (its
//! geometry, the work its code names): pure, so every rule is tested without a file.

use chrono::NaiveDate;
use serde::Serialize;

use super::rows::Incoming;
use super::{Importer, Problem};
use crate::domain::{looks_like_code, Classification, Programme, SiteKind, SiteStatus};
use crate::progress::rules;

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
    pub remains_expected: Option<i32>,
    pub remains_found: Option<i32>,
    pub area_ha: Option<f64>,
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
    pub zone: Option<(i32, i32, f64)>,
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
    let mut errors = std::mem::take(&mut row.errors);
    let mut warnings = Vec::new();
    let kind_unreadable = errors.iter().any(|e| e.field == "kind");
    let mut err = |field: &str, vi: String, en: String| errors.push(Problem::new(field, vi, en));
    let existing = found.existing.as_ref();
    // The code.
    let code = row.code.clone().unwrap_or_default();
    if code.is_empty() {
        err("code", "Thiếu mã công trình.".into(), "missing code".into());
    } else if !looks_like_code(&code) {
        err(
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
        err(
            "code",
            format!("Mã “{code}” lặp lại ở các dòng {}.", others.join(", ")),
            format!("code '{code}' appears again in rows {}", others.join(", ")),
        );
    }
    // A row without a geometry can only update a work: when its code names none the
    // importer may see, that is all there is to say. A work above their clearance reads
    // exactly like no work (`existing` is `None` for it).
    if existing.is_none() && row.wkb.is_none() && looks_like_code(&code) {
        err(
            "code",
            format!("Không có công trình nào mang mã “{code}” (công trình mới cần có hình học, loại và tên)."),
            format!("no work has code '{code}' (a new work needs a geometry, a kind and a name)"),
        );
        return refused(errors, warnings);
    }
    // The kind.
    let kind = match (row.kind, existing) {
        (Some(k), Some(e)) if k.code() != e.kind => {
            err(
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
                err(
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
            err(
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
    // The geometry.
    let has_geometry = row.wkb.is_some();
    if !has_geometry {
        if existing.is_none() {
            err(
                "geometry",
                "Thiếu hình học (tọa độ) cho công trình mới.".into(),
                "a new work needs a geometry".into(),
            );
        }
    } else if found.empty {
        err("geometry", "Hình học rỗng.".into(), "empty geometry".into());
    } else if !found.valid {
        let reason = found.reason.clone().unwrap_or_default();
        let (vi_at, en_at) = match found.location {
            Some([x, y, lon, lat]) => (
                format!(" tại {x:.3}, {y:.3} (≈ {lat:.6}°N {lon:.6}°E)"),
                format!(" at {x:.3}, {y:.3} (≈ {lat:.6}°N {lon:.6}°E)"),
            ),
            None => (String::new(), String::new()),
        };
        err(
            "geometry",
            format!("Hình học không hợp lệ: {reason}{vi_at}."),
            format!("invalid geometry: {reason}{en_at}"),
        );
    } else {
        let family = found.family.clone().unwrap_or_default();
        if let Some(k) = kind {
            if !k.families().iter().any(|f| f.code() == family) {
                let allowed: Vec<&str> = k.families().iter().map(|f| f.code()).collect();
                err(
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
            err(
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
            warnings.push(Problem::new(
                "geometry",
                "Đường khép kín được đọc thành vùng.",
                "a closed line was read as a polygon",
            ));
        }
    }
    // Who may write it.
    if let Some(districts) = &who.districts {
        let outside = |d: Option<i32>| d.is_none_or(|d| !districts.contains(&d));
        let moved_out = has_geometry && found.valid && outside(found.district_id);
        if existing.is_some_and(|e| outside(e.district_id)) || moved_out {
            err(
                "district",
                "Công trình ngoài các huyện bạn được giao.".into(),
                "the work lies outside your districts".into(),
            );
        }
    }
    if let Some(c) = row.classification {
        if c > who.clearance {
            err(
                "classification",
                "Độ mật cao hơn mức bạn được phép.".into(),
                "classification above your clearance".into(),
            );
        } else if let Some(e) = existing.filter(|e| !e.classification.may_become(c, who.declassify))
        {
            err(
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
    // Numbers and dates.
    if let Some(p) = row.phase {
        if !(1..=9).contains(&p) {
            err(
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
            err(
                field,
                format!("Số hài cốt không hợp lệ ({}).", value.unwrap_or(0)),
                format!("{field} out of range ({})", value.unwrap_or(0)),
            );
        }
    }
    if row.area_ha.is_some_and(|a| !(0.0..=1e9).contains(&a)) {
        err(
            "area_concluded_ha",
            "Diện tích không hợp lệ.".into(),
            "area out of range".into(),
        );
    }
    // Exports write zeros (or nulls) there for other works: only a figure is an error.
    let zone_given = row.remains_expected.is_some_and(|v| v != 0)
        || row.remains_found.is_some_and(|v| v != 0)
        || row.area_ha.is_some_and(|v| v != 0.0);
    if zone_given && kind.is_some_and(|k| k != SiteKind::RemainsSearchZone) {
        err(
            "remains_expected",
            "Số liệu tìm kiếm hài cốt chỉ dành cho khu vực tìm kiếm.".into(),
            "remains figures belong to search zones only".into(),
        );
    }
    if let (Some(e), Some(v)) = (existing, row.version) {
        if v != i64::from(e.version) {
            err(
                "version",
                format!("Công trình đã được cập nhật sau khi xuất tệp (phiên bản tệp {v}, hiện tại {}).", e.version),
                format!("the work changed after this file was made (file version {v}, now {})", e.version),
            );
        }
    }
    let pick = |given: Option<NaiveDate>, old: Option<NaiveDate>| given.or(old);
    let planned = (
        pick(row.planned_start, existing.and_then(|e| e.planned_start)),
        pick(row.planned_finish, existing.and_then(|e| e.planned_finish)),
    );
    if let (Some(s), Some(f)) = planned {
        if f < s {
            err(
                "planned_finish",
                "Ngày hoàn thành dự kiến trước ngày khởi công.".into(),
                "planned finish before planned start".into(),
            );
        }
    }
    // Progress, by the rules every update keeps.
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
    if progress_given {
        for v in rules::check(&current, &update, today) {
            errors.push(Problem::new(v.field, v.vi, v.en));
        }
    }
    let name = row
        .name
        .clone()
        .or_else(|| existing.map(|e| e.name.clone()));
    if name.is_none() {
        errors.push(Problem::new(
            "name",
            "Thiếu tên cho công trình mới.",
            "a new work needs a name",
        ));
    }
    // A new work's code held by a work the importer may not see: said only when nothing
    // else is wrong, so the row reads like one whose code is free in every other case.
    if errors.is_empty() && found.code_taken {
        errors.push(Problem::new(
            "code",
            format!("Mã “{code}” đã được dùng; hãy chọn mã khác."),
            format!("code '{code}' is taken; choose another"),
        ));
    }
    if !errors.is_empty() {
        return refused(errors, warnings);
    }
    let kind = kind.expect("checked above");
    // What changes.
    let mut changes = Vec::new();
    let mut note_change = |field: &str, changed: bool| {
        if changed {
            changes.push(field.to_string());
        }
    };
    let e = existing;
    let differs = |given: bool, same: bool| given && !same;
    note_change(
        "name",
        differs(
            row.name.is_some(),
            e.is_some_and(|e| Some(&e.name) == row.name.as_ref()),
        ),
    );
    note_change(
        "name_en",
        differs(
            row.name_en.is_some(),
            e.is_some_and(|e| e.name_en == row.name_en),
        ),
    );
    note_change(
        "status",
        differs(
            row.status.is_some(),
            e.is_some_and(|e| Some(e.status) == row.status),
        ),
    );
    note_change(
        "percent",
        differs(
            row.percent.is_some(),
            e.is_some_and(|e| Some(i64::from(e.percent)) == row.percent),
        ),
    );
    note_change(
        "phase",
        differs(
            row.phase.is_some(),
            e.is_some_and(|e| e.phase.map(i64::from) == row.phase),
        ),
    );
    note_change(
        "programme",
        differs(
            row.programme.is_some(),
            e.is_some_and(|e| Some(e.programme) == row.programme),
        ),
    );
    note_change(
        "responsible_unit",
        differs(row.unit.is_some(), e.is_some_and(|e| e.unit == row.unit)),
    );
    note_change(
        "classification",
        differs(
            row.classification.is_some(),
            e.is_some_and(|e| Some(e.classification) == row.classification),
        ),
    );
    note_change(
        "planned_start",
        differs(
            row.planned_start.is_some(),
            e.is_some_and(|e| e.planned_start == row.planned_start),
        ),
    );
    note_change(
        "planned_finish",
        differs(
            row.planned_finish.is_some(),
            e.is_some_and(|e| e.planned_finish == row.planned_finish),
        ),
    );
    note_change(
        "actual_start",
        differs(
            row.actual_start.is_some(),
            e.is_some_and(|e| e.actual_start == row.actual_start),
        ),
    );
    note_change(
        "actual_finish",
        differs(
            row.actual_finish.is_some(),
            e.is_some_and(|e| e.actual_finish == row.actual_finish),
        ),
    );
    if kind == SiteKind::RemainsSearchZone {
        note_change(
            "remains_expected",
            differs(
                row.remains_expected.is_some(),
                e.is_some_and(|e| e.remains_expected.map(i64::from) == row.remains_expected),
            ),
        );
        note_change(
            "remains_found",
            differs(
                row.remains_found.is_some(),
                e.is_some_and(|e| e.remains_found.map(i64::from) == row.remains_found),
            ),
        );
        note_change(
            "area_concluded_ha",
            differs(
                row.area_ha.is_some(),
                e.is_some_and(|e| {
                    e.area_ha
                        .zip(row.area_ha)
                        .is_some_and(|(a, b)| (a - b).abs() < 0.005)
                }),
            ),
        );
    }
    let geom_changed = has_geometry && !found.same_geometry;
    note_change("geometry", geom_changed);
    let action = match e {
        None => Action::Insert,
        Some(_) if changes.is_empty() => Action::Unchanged,
        Some(_) => Action::Update,
    };
    let progress_changed = changes.iter().any(|c| {
        matches!(
            c.as_str(),
            "status" | "percent" | "actual_start" | "actual_finish"
        )
    });
    let write = (action != Action::Unchanged).then(|| Final {
        row: row.row as i32,
        site_id: e.map(|e| e.id),
        code: code.clone(),
        name: name.unwrap_or_default(),
        name_en: row
            .name_en
            .clone()
            .or_else(|| e.and_then(|e| e.name_en.clone())),
        kind,
        programme: row
            .programme
            .or(e.map(|e| e.programme))
            .unwrap_or(Programme::Kvpt2021),
        phase: row.phase.map(|p| p as i16).or(e.and_then(|e| e.phase)),
        unit: row.unit.clone().or_else(|| e.and_then(|e| e.unit.clone())),
        classification: row
            .classification
            .or(e.map(|e| e.classification))
            .unwrap_or(Classification::Internal.min(who.clearance)),
        status: update.status,
        percent: update.percent as i16,
        planned_start: planned.0,
        planned_finish: planned.1,
        actual_start: update.actual_start,
        actual_finish: update.actual_finish,
        geom_changed,
        progress_changed: progress_changed || e.is_none(),
        zone: (kind == SiteKind::RemainsSearchZone).then(|| {
            (
                row.remains_expected
                    .map(|v| v as i32)
                    .or(e.and_then(|e| e.remains_expected))
                    .unwrap_or(0),
                row.remains_found
                    .map(|v| v as i32)
                    .or(e.and_then(|e| e.remains_found))
                    .unwrap_or(0),
                row.area_ha.or(e.and_then(|e| e.area_ha)).unwrap_or(0.0),
            )
        }),
        note: row.note.clone(),
        correction_reason: row.correction_reason.clone(),
        changes: changes.clone(),
    });
    Outcome {
        action,
        changes,
        errors,
        warnings,
        write,
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
