//! Investments without a place on the map (issue 24 §4): the directive's §3 (command-post
//! automation, the LAN, the shared software) and §8 (procurement of equipment, vehicles,
//! boats, flood and rescue gear). What an item holds as entered and the rules on it. Pure:
//! its status, percent, history and budget lines are the works' own.

use chrono::NaiveDate;

use super::{looks_like_code, Classification, InvestmentCategory, Programme};

/// An investment as entered on its form.
#[derive(Debug, Clone, PartialEq)]
pub struct Investment {
    /// Empty: the next free code of its kind (`TDH-TNH-0007`).
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub category: InvestmentCategory,
    pub programme: Programme,
    pub responsible_unit: String,
    /// The command post it equips (its code), if any.
    pub command_post: Option<String>,
    pub classification: Classification,
    pub planned_start: Option<NaiveDate>,
    pub planned_finish: Option<NaiveDate>,
}

/// What is wrong with `item` (field, Vietnamese, English) for a user cleared to
/// `clearance`.
pub fn check(item: &Investment, clearance: Classification) -> Vec<(&'static str, String, String)> {
    let mut wrong = Vec::new();
    let prefix = item.category.kind().code_prefix();
    let code = item.code.trim();
    if !code.is_empty()
        && (code.len() > 40 || !looks_like_code(code) || !code.starts_with(&format!("{prefix}-")))
    {
        wrong.push((
            "code",
            format!("Mã “{}” không hợp lệ: dạng {prefix}-TNH-0001 (chữ in hoa, số, gạch nối; tối đa 40 ký tự).", short(code)),
            format!("the code '{}' is not like {prefix}-TNH-0001 (capitals, digits, dashes; 40 characters at most)", short(code)),
        ));
    }
    let name = item.name.trim().chars().count();
    if name == 0 || name > 300 {
        wrong.push((
            "name",
            "Tên từ 1 đến 300 ký tự.".into(),
            "the name has 1 to 300 characters".into(),
        ));
    }
    if item.responsible_unit.trim().is_empty() {
        wrong.push((
            "responsible_unit",
            "Cần đơn vị chịu trách nhiệm.".into(),
            "the responsible unit is missing".into(),
        ));
    }
    if item.command_post.is_some() && item.category.kind() != super::SiteKind::CommandAutomation {
        wrong.push((
            "command_post",
            "Chỉ khoản tự động hóa chỉ huy gắn với một sở chỉ huy.".into(),
            "only command automation is linked to a command post".into(),
        ));
    }
    if item.classification > clearance {
        wrong.push((
            "classification",
            "Độ mật cao hơn độ mật của tài khoản.".into(),
            "the classification is above your clearance".into(),
        ));
    }
    if let (Some(start), Some(finish)) = (item.planned_start, item.planned_finish) {
        if finish < start {
            wrong.push((
                "planned_finish",
                "Ngày hoàn thành kế hoạch trước ngày bắt đầu.".into(),
                "the planned finish is before the planned start".into(),
            ));
        }
    }
    wrong
}

/// A value as quoted back: at most 60 characters.
fn short(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_needs_a_code_of_its_kind_a_name_a_unit_and_a_clearance_it_holds() {
        let mut item = Investment {
            code: "MS-TNH-0001".into(),
            name: "Xuồng cứu hộ".into(),
            name_en: None,
            category: InvestmentCategory::Boats,
            programme: Programme::Kvpt2021,
            responsible_unit: "Phòng Hậu cần – Kỹ thuật".into(),
            command_post: None,
            classification: Classification::Internal,
            planned_start: NaiveDate::from_ymd_opt(2022, 1, 1),
            planned_finish: NaiveDate::from_ymd_opt(2023, 1, 1),
        };
        assert!(check(&item, Classification::Internal).is_empty());
        item.code = "TDH-TNH-0001".into();
        item.name = " ".into();
        item.responsible_unit = String::new();
        item.command_post = Some("SCH-TBI-0001".into());
        item.planned_finish = NaiveDate::from_ymd_opt(2021, 1, 1);
        let fields: Vec<_> = check(&item, Classification::Public)
            .iter()
            .map(|w| w.0)
            .collect();
        assert_eq!(
            fields,
            [
                "code",
                "name",
                "responsible_unit",
                "command_post",
                "classification",
                "planned_finish"
            ]
        );
        item.code = String::new();
        assert!(!check(&item, Classification::Public)
            .iter()
            .any(|w| w.0 == "code"));
    }
}
