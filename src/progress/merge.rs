//! Merge, never last-wins: an update made from version N of a site that has moved on
//! since is compared field by field with what changed in between. A field nobody else
//! changed takes the update's value; a field someone else changed keeps theirs when the
//! update leaves it alone or asks the same; a field both changed to different values is a
//! conflict, and then nothing is applied until a person picks. Pure.

use super::rules::Progress;
use crate::domain::SiteStatus;
use chrono::NaiveDate;

/// The fields an update asks to set (`None`: left as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    pub status: Option<SiteStatus>,
    pub percent: Option<i64>,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
}

/// The progress fields, by the names the API and the conflict list use.
pub const FIELDS: [&str; 4] = ["status", "percent", "actual_start", "actual_finish"];

/// What becomes of an update made from `base` when the site now stands at `theirs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// Apply these fields (the update's, where it may; every other field stays theirs).
    Apply(Asked),
    /// Someone else changed these fields to other values than the update asks.
    Conflict(Vec<&'static str>),
}

/// Merges `mine`, made when the site stood at `base`, onto where it stands now (`theirs`).
pub fn merge(base: &Progress, theirs: &Progress, mine: &Asked) -> Merged {
    let mut conflicts = Vec::new();
    // Each field: (asked, changed by someone else, asked differs from theirs).
    let fields = [
        (
            mine.status.is_some(),
            theirs.status != base.status,
            mine.status.is_some_and(|s| s != theirs.status),
        ),
        (
            mine.percent.is_some(),
            theirs.percent != base.percent,
            mine.percent.is_some_and(|p| p != i64::from(theirs.percent)),
        ),
        (
            mine.actual_start.is_some(),
            theirs.actual_start != base.actual_start,
            mine.actual_start.is_some() && mine.actual_start != theirs.actual_start,
        ),
        (
            mine.actual_finish.is_some(),
            theirs.actual_finish != base.actual_finish,
            mine.actual_finish.is_some() && mine.actual_finish != theirs.actual_finish,
        ),
    ];
    let unchanged_by_mine = [
        mine.status == Some(base.status),
        mine.percent == Some(i64::from(base.percent)),
        mine.actual_start.is_some() && mine.actual_start == base.actual_start,
        mine.actual_finish.is_some() && mine.actual_finish == base.actual_finish,
    ];
    for ((name, (asked, changed, differs)), same_as_base) in
        FIELDS.into_iter().zip(fields).zip(unchanged_by_mine)
    {
        if asked && changed && differs && !same_as_base {
            conflicts.push(name);
        }
    }
    if !conflicts.is_empty() {
        return Merged::Conflict(conflicts);
    }
    // A field the update leaves as it was at its base (a whole form sent back, a field
    // not touched) is no change of the update's: someone else's change to it stays.
    let untouched = |asked_same_as_base: bool, changed: bool| asked_same_as_base && changed;
    let mut apply = mine.clone();
    if untouched(
        mine.status == Some(base.status),
        theirs.status != base.status,
    ) {
        apply.status = None;
    }
    if untouched(
        mine.percent == Some(i64::from(base.percent)),
        theirs.percent != base.percent,
    ) {
        apply.percent = None;
    }
    if untouched(
        mine.actual_start.is_some() && mine.actual_start == base.actual_start,
        theirs.actual_start != base.actual_start,
    ) {
        apply.actual_start = None;
    }
    if untouched(
        mine.actual_finish.is_some() && mine.actual_finish == base.actual_finish,
        theirs.actual_finish != base.actual_finish,
    ) {
        apply.actual_finish = None;
    }
    Merged::Apply(apply)
}

impl Asked {
    /// Only the fields this update changes from `base` (a whole form sent back asks every
    /// field; those left as they were are no change of its own).
    pub fn changes_from(&self, base: &Progress) -> Asked {
        Asked {
            status: self.status.filter(|s| *s != base.status),
            percent: self.percent.filter(|p| *p != i64::from(base.percent)),
            actual_start: self.actual_start.filter(|d| Some(*d) != base.actual_start),
            actual_finish: self
                .actual_finish
                .filter(|d| Some(*d) != base.actual_finish),
        }
    }

    /// Back from the JSON a conflict keeps (`conflicts::asked_json`).
    pub fn from_json(v: &serde_json::Value) -> Self {
        let date = |k: &str| v[k].as_str().and_then(|d| d.parse::<NaiveDate>().ok());
        Self {
            status: v["status"].as_str().and_then(SiteStatus::from_code),
            percent: v["percent"].as_i64(),
            actual_start: date("actual_start"),
            actual_finish: date("actual_finish"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2025, 3, d)
    }

    /// A state that differs from `base` in exactly the fields of `mask` (bit i: field i).
    fn changed(base: &Progress, mask: u8) -> Progress {
        Progress {
            status: if mask & 1 != 0 {
                SiteStatus::Completed
            } else {
                base.status
            },
            percent: if mask & 2 != 0 {
                base.percent + 10
            } else {
                base.percent
            },
            actual_start: if mask & 4 != 0 {
                day(2)
            } else {
                base.actual_start
            },
            actual_finish: if mask & 8 != 0 {
                day(20)
            } else {
                base.actual_finish
            },
        }
    }

    /// An update asking the fields of `asked`; for those also in `same`, the value theirs
    /// has, else another one.
    fn asking(theirs: &Progress, asked: u8, same: u8) -> Asked {
        let pick = |bit: u8| asked & bit != 0;
        let equal = |bit: u8| same & bit != 0;
        Asked {
            status: pick(1).then(|| {
                if equal(1) {
                    theirs.status
                } else {
                    SiteStatus::Suspended
                }
            }),
            percent: pick(2).then(|| i64::from(theirs.percent) + if equal(2) { 0 } else { 5 }),
            actual_start: if pick(4) {
                if equal(4) {
                    theirs.actual_start
                } else {
                    day(9)
                }
            } else {
                None
            },
            actual_finish: if pick(8) {
                if equal(8) {
                    theirs.actual_finish
                } else {
                    day(28)
                }
            } else {
                None
            },
        }
    }

    #[test]
    fn every_combination_of_fields_asked_changed_and_equal_follows_the_rule() {
        let base = Progress {
            status: SiteStatus::UnderConstruction,
            percent: 40,
            actual_start: day(1),
            actual_finish: None,
        };
        let mut seen = [0usize; 2];
        for theirs_mask in 0..16u8 {
            let theirs = changed(&base, theirs_mask);
            for asked in 0..16u8 {
                for same in 0..16u8 {
                    let mine = asking(&theirs, asked, same);
                    let expected: Vec<&str> = (0..4)
                        .filter(|i| {
                            let bit = 1u8 << i;
                            // Asked, changed by them, and to another value than theirs.
                            asked & bit != 0 && theirs_mask & bit != 0 && same & bit == 0
                        })
                        .map(|i| FIELDS[i])
                        .collect();
                    let merged = merge(&base, &theirs, &mine);
                    if expected.is_empty() {
                        // Nothing crossed: the update applies as asked.
                        assert_eq!(
                            merged,
                            Merged::Apply(mine.clone()),
                            "{theirs_mask} {asked} {same}"
                        );
                        seen[0] += 1;
                    } else {
                        assert_eq!(
                            merged,
                            Merged::Conflict(expected),
                            "{theirs_mask} {asked} {same}"
                        );
                        seen[1] += 1;
                    }
                }
            }
        }
        assert!(seen[0] > 0 && seen[1] > 0);
    }

    #[test]
    fn a_field_sent_back_as_it_was_at_the_base_is_no_change() {
        let base = Progress {
            status: SiteStatus::UnderConstruction,
            percent: 40,
            actual_start: day(1),
            actual_finish: None,
        };
        let theirs = Progress {
            percent: 50,
            ..base.clone()
        };
        // The whole form sent back: status and percent as at the base, a note added.
        let mine = Asked {
            status: Some(SiteStatus::UnderConstruction),
            percent: Some(40),
            actual_start: day(1),
            actual_finish: None,
        };
        let Merged::Apply(apply) = merge(&base, &theirs, &mine) else {
            panic!("no conflict: nothing of theirs was changed by mine");
        };
        assert_eq!(apply.percent, None, "their 50 % stays");
        assert_eq!(apply.status, Some(SiteStatus::UnderConstruction));
        // What a conflict keeps as "mine": only what the update changed.
        let changed = Asked {
            percent: Some(45),
            ..mine.clone()
        }
        .changes_from(&base);
        assert_eq!(
            changed,
            Asked {
                percent: Some(45),
                ..Asked::default()
            }
        );
    }

    #[test]
    fn from_the_current_version_nothing_conflicts() {
        let base = Progress {
            status: SiteStatus::Design,
            percent: 5,
            actual_start: None,
            actual_finish: None,
        };
        let mine = Asked {
            status: Some(SiteStatus::UnderConstruction),
            percent: Some(20),
            actual_start: day(3),
            actual_finish: None,
        };
        assert_eq!(merge(&base, &base, &mine), Merged::Apply(mine.clone()));
    }
}
