//! `/review`: the engineers' updates waiting for review (issue 24 §6) — what each changes
//! (old → new), its note, its photos with any distance warning, the work on a small map —
//! and the notices that tell engineers and readers of a site what waits or came back. Search
//! zones' figures wait and are decided the same way.

use std::collections::HashMap;

use maud::{html, Markup};

use super::layout;
use super::sites::{mini_map, status_badge};
use crate::db::sites::{SiteMap, PHOTO_FAR_M};
use crate::i18n::{format_date, format_decimal, format_int, Lang};
use crate::progress::review::{ProgressChange, Submission};
use crate::search::form::hectares;
use crate::search::review::SearchChange;

fn date(d: Option<chrono::NaiveDate>, lang: Lang) -> String {
    d.map_or_else(|| "—".into(), |d| format_date(d, lang))
}

/// One changed-or-not field: its label, old, new, whether it changed.
type Row = (&'static str, Markup, Markup, bool);

/// What a progress update changes, field by field.
fn progress_rows(c: &ProgressChange, lang: Lang) -> Vec<Row> {
    vec![
        (
            lang.pick("Trạng thái", "Status"),
            html! { (status_badge(&c.old_status, lang)) },
            html! { (status_badge(&c.new_status, lang)) },
            c.old_status != c.new_status,
        ),
        (
            lang.pick("Tiến độ", "Progress"),
            html! { (c.old_pct) "%" },
            html! { (c.new_pct) "%" },
            c.old_pct != c.new_pct,
        ),
        (
            lang.pick("Khởi công", "Started"),
            html! { (date(c.old_actual_start, lang)) },
            html! { (date(c.new_actual_start, lang)) },
            c.old_actual_start != c.new_actual_start,
        ),
        (
            lang.pick("Hoàn thành", "Finished"),
            html! { (date(c.old_actual_finish, lang)) },
            html! { (date(c.new_actual_finish, lang)) },
            c.old_actual_finish != c.new_actual_finish,
        ),
    ]
}

/// What an update of a zone's figures changes, field by field.
fn search_rows(c: &SearchChange, lang: Lang) -> Vec<Row> {
    let (o, n) = (&c.old, &c.new);
    let yes_no = |b: bool| lang.pick(if b { "Có" } else { "Chưa" }, if b { "Yes" } else { "No" });
    let text = |t: &Option<String>| t.clone().unwrap_or_else(|| "—".into());
    vec![
        (
            lang.pick("Hài cốt dự kiến", "Remains expected"),
            html! { (format_int(i64::from(o.remains_expected), lang)) },
            html! { (format_int(i64::from(n.remains_expected), lang)) },
            o.remains_expected != n.remains_expected,
        ),
        (
            lang.pick("Hài cốt đã quy tập", "Remains found"),
            html! { (format_int(i64::from(o.remains_found), lang)) },
            html! { (format_int(i64::from(n.remains_found), lang)) },
            o.remains_found != n.remains_found,
        ),
        (
            lang.pick("Diện tích đã kết luận", "Area concluded"),
            html! { (hectares(o.area_concluded_ha, lang)) " ha" },
            html! { (hectares(n.area_concluded_ha, lang)) " ha" },
            o.area_concluded_ha != n.area_concluded_ha,
        ),
        (
            lang.pick("Bản đồ tìm kiếm", "Search map"),
            html! { (yes_no(o.map_drawn)) @if o.map_drawn_on.is_some() { " (" (date(o.map_drawn_on, lang)) ")" } },
            html! { (yes_no(n.map_drawn)) @if n.map_drawn_on.is_some() { " (" (date(n.map_drawn_on, lang)) ")" } },
            (o.map_drawn, o.map_drawn_on) != (n.map_drawn, n.map_drawn_on),
        ),
        (
            lang.pick("Kết luận địa bàn", "Concluded"),
            html! { (date(o.concluded_on, lang)) },
            html! { (date(n.concluded_on, lang)) },
            o.concluded_on != n.concluded_on,
        ),
        (
            lang.pick("Đơn vị phụ trách", "Unit in charge"),
            html! { (text(&o.unit_in_charge)) },
            html! { (text(&n.unit_in_charge)) },
            o.unit_in_charge != n.unit_in_charge,
        ),
    ]
}

/// The fields, old → new, the changed ones marked.
fn changes(rows: Vec<Row>, lang: Lang) -> Markup {
    html! {
        table.changes {
            thead { tr { th {} th { (lang.pick("Trước", "Before")) } th { (lang.pick("Sau", "After")) } } }
            tbody { @for (label, old, new, changed) in rows {
                tr.changed[changed] { th { (label) } td { (old) } td { (new) } }
            } }
        }
    }
}

/// A short line of what a submission sets, for notices.
fn summary_progress(c: &ProgressChange, lang: Lang) -> Markup {
    html! { (status_badge(&c.new_status, lang)) " " (c.new_pct) "%" }
}

fn summary_search(c: &SearchChange, lang: Lang) -> Markup {
    html! {
        (lang.pick("tìm kiếm: ", "search: ")) (format_int(i64::from(c.new.remains_found), lang))
        (lang.pick(" hài cốt, ", " remains, ")) (hectares(c.new.area_concluded_ha, lang)) " ha"
    }
}

/// One submission as a reviewer sees it (`path`: where its decisions go, `rows`: what it
/// changes), with the forms that decide it.
fn item<C>(
    s: &Submission<C>,
    (path, rows): (&str, Vec<Row>),
    map: Option<&SiteMap>,
    csrf: &str,
    lang: Lang,
) -> Markup {
    let q = format!("?lang={}", lang.code());
    let search = path.contains("/search/");
    html! {
        article.submission.search[search] id={ @if search { "z" } @else { "s" } (s.id) } data-id=(s.id) {
            div.submission-head {
                div {
                    h2 { a href={ "/sites/" (s.code) (q) } { (s.code) } " " (s.name) }
                    p.lead { (super::sites::kind_label(&s.kind, lang)) @if let Some(d) = &s.district { " · " (d) }
                        " · " (lang.pick("gửi bởi ", "sent by ")) strong { (s.actor) } " · " (crate::views::timestamp(s.submitted_at, lang)) }
                }
                @if let Some(m) = map { div.review-map { (mini_map(m)) } }
            }
            (changes(rows, lang))
            @if let Some(n) = &s.note { p.note { strong { (lang.pick("Ghi chú: ", "Note: ")) } (n) } }
            @if let Some(r) = &s.correction_reason { p.correction { strong { (lang.pick("Lý do điều chỉnh: ", "Correction: ")) } (r) } }
            @if !s.photos.is_empty() {
                div.photos { @for (id, distance) in &s.photos {
                    figure.photo {
                        a href={ "/photos/" (id) } { img src={ "/photos/" (id) "/thumb" } loading="lazy" width="160" alt=(lang.pick("Ảnh hiện trường", "Site photo")); }
                        @if let Some(m) = distance.filter(|m| *m > PHOTO_FAR_M) {
                            figcaption { span.photo-flag { (lang.pick("Chụp cách công trình ", "Taken "))
                                (format_decimal(m / 1000.0, 1, lang)) (lang.pick(" km", " km from the work")) } }
                        }
                    }
                } }
            }
            @if s.stale {
                p.warning role="alert" { (lang.pick("Công trình đã thay đổi từ khi cập nhật này được gửi: chỉ có thể trả lại.",
                                                     "The work changed since this update was sent: it can only be returned.")) }
            }
            div.decide {
                @if !s.stale {
                    form method="post" action={ (path) "/approve" (q) } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (lang.pick("Duyệt", "Approve")) }
                    }
                }
                form method="post" action={ (path) "/return" (q) } {
                    input type="hidden" name="csrf" value=(csrf);
                    label { (lang.pick("Lý do trả lại", "Reason for returning it"))
                        textarea name="reason" maxlength="1000" required {} }
                    button.secondary type="submit" { (lang.pick("Trả lại", "Return")) }
                }
            }
        }
    }
}

/// What waits for review, with each work's small map.
pub struct Items<'a> {
    pub progress: &'a [Submission],
    pub search: &'a [Submission<SearchChange>],
    pub maps: &'a HashMap<i64, Option<SiteMap>>,
}

/// The review list, with the outcome of the last decision (ok, message).
pub fn page(lang: Lang, items: &Items, csrf: &str, outcome: Option<&(bool, String)>) -> Markup {
    let map = |site_id: i64| items.maps.get(&site_id).and_then(Option::as_ref);
    let body = html! {
        h1 { (lang.pick("Duyệt cập nhật", "Review of updates")) }
        p.lead { (lang.pick("Cập nhật tiến độ và số liệu tìm kiếm của kỹ sư, tổ tìm kiếm chỉ được tính khi đã duyệt. Duyệt thì cập nhật được áp dụng (lịch sử, nhật ký); trả lại thì người gửi thấy lý do trên trang Hiện trường và trang công trình.",
                            "Engineers' and search teams' updates of progress and search figures count once approved. Approving applies the update (history, audit); returning it shows its author the reason on the Field page and the work's page.")) }
        @if let Some((ok, message)) = outcome {
            @if *ok { p.ok role="status" { (message) } } @else { div.errors role="alert" { p { (message) } } }
        }
        @if items.progress.is_empty() && items.search.is_empty() {
            p #review-empty { (lang.pick("Không có cập nhật nào chờ duyệt.", "No updates wait for review.")) }
        }
        @if !items.progress.is_empty() {
            h2 #review-progress { (lang.pick("Tiến độ", "Progress")) " (" (items.progress.len()) ")" }
            @for s in items.progress {
                (item(s, (&format!("/review/{}", s.id), progress_rows(&s.change, lang)), map(s.site_id), csrf, lang))
            }
        }
        @if !items.search.is_empty() {
            h2 #review-search { (lang.pick("Tìm kiếm, quy tập hài cốt", "Remains search")) " (" (items.search.len()) ")" }
            @for s in items.search {
                (item(s, (&format!("/review/search/{}", s.id), search_rows(&s.change, lang)), map(s.site_id), csrf, lang))
            }
        }
    };
    layout(lang, lang.pick("Duyệt cập nhật", "Review"), "/review", body)
}

/// A submission as a notice shows it: the work's code, its author, what it sets, and for
/// one returned, who returned it, when and why.
pub struct Notice {
    id: i64,
    code: String,
    actor: String,
    waiting: bool,
    sets: Markup,
    decided: Option<(String, chrono::DateTime<chrono::Utc>)>,
    reason: Option<String>,
}

fn notice<C>(s: &Submission<C>, sets: Markup) -> Notice {
    Notice {
        id: s.id,
        code: s.code.clone(),
        actor: s.actor.clone(),
        waiting: s.state == "submitted",
        sets,
        decided: s.decided_actor.clone().zip(s.decided_at),
        reason: s.reason.clone(),
    }
}

/// The notices of progress updates and zone updates, those waiting and those returned.
pub fn notices_of(
    lang: Lang,
    progress: &[Submission],
    search: &[Submission<SearchChange>],
) -> Vec<Notice> {
    progress
        .iter()
        .filter(|s| s.state != "approved")
        .map(|s| notice(s, summary_progress(&s.change, lang)))
        .chain(
            search
                .iter()
                .filter(|s| s.state != "approved")
                .map(|s| notice(s, summary_search(&s.change, lang))),
        )
        .collect()
}

/// What waits for review or came back, for an engineer (/field) or a work's page.
pub fn notices(lang: Lang, items: &[Notice], with_site: bool) -> Markup {
    let waiting: Vec<&Notice> = items.iter().filter(|s| s.waiting).collect();
    let returned: Vec<&Notice> = items.iter().filter(|s| !s.waiting).collect();
    html! {
        @if !waiting.is_empty() || !returned.is_empty() {
            section.review-notices #review-notices {
                @if !waiting.is_empty() {
                    p.pending #review-waiting { strong { (lang.pick("Chờ duyệt: ", "Waiting for review: ")) }
                        @for (i, s) in waiting.iter().enumerate() {
                            @if i > 0 { ", " }
                            @if with_site { a href={ "/sites/" (s.code) "?lang=" (lang.code()) } { (s.code) } " " }
                            (s.sets) " (" (s.actor) ")"
                        } }
                }
                @for s in &returned {
                    p.returned role="alert" data-id=(s.id) {
                        strong { (lang.pick("Bị trả lại", "Returned")) }
                        @if with_site { " · " a href={ "/sites/" (s.code) "?lang=" (lang.code()) } { (s.code) } }
                        " · " (s.sets) " (" (s.actor) ")"
                        @if let Some((who, at)) = &s.decided { " · " (who) " · " (crate::views::timestamp(*at, lang)) }
                        ": " (s.reason.as_deref().unwrap_or(""))
                    }
                }
            }
        }
    }
}
