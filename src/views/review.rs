//! `/review`: the engineers' updates waiting for review (issue 24 §6) — what each changes
//! (old → new), its note, its photos with any distance warning, the work on a small map —
//! and the notices that tell engineers and readers of a site what waits or came back.

use maud::{html, Markup};

use super::layout;
use super::sites::{mini_map, status_badge};
use crate::db::sites::{SiteMap, PHOTO_FAR_M};
use crate::i18n::{format_date, format_decimal, Lang};
use crate::progress::review::Submission;

fn date(d: Option<chrono::NaiveDate>, lang: Lang) -> String {
    d.map_or_else(|| "—".into(), |d| format_date(d, lang))
}

/// What the update changes: each field, old → new, the changed ones marked.
fn changes(s: &Submission, lang: Lang) -> Markup {
    let rows = [
        (
            lang.pick("Trạng thái", "Status"),
            html! { (status_badge(&s.old_status, lang)) },
            html! { (status_badge(&s.new_status, lang)) },
            s.old_status != s.new_status,
        ),
        (
            lang.pick("Tiến độ", "Progress"),
            html! { (s.old_pct) "%" },
            html! { (s.new_pct) "%" },
            s.old_pct != s.new_pct,
        ),
        (
            lang.pick("Khởi công", "Started"),
            html! { (date(s.old_actual_start, lang)) },
            html! { (date(s.new_actual_start, lang)) },
            s.old_actual_start != s.new_actual_start,
        ),
        (
            lang.pick("Hoàn thành", "Finished"),
            html! { (date(s.old_actual_finish, lang)) },
            html! { (date(s.new_actual_finish, lang)) },
            s.old_actual_finish != s.new_actual_finish,
        ),
    ];
    html! {
        table.changes {
            thead { tr { th {} th { (lang.pick("Trước", "Before")) } th { (lang.pick("Sau", "After")) } } }
            tbody { @for (label, old, new, changed) in rows {
                tr.changed[changed] { th { (label) } td { (old) } td { (new) } }
            } }
        }
    }
}

/// One submission as a reviewer sees it, with the forms that decide it.
fn item(s: &Submission, map: Option<&SiteMap>, csrf: &str, lang: Lang) -> Markup {
    let q = format!("?lang={}", lang.code());
    html! {
        article.submission id={ "s" (s.id) } data-id=(s.id) {
            div.submission-head {
                div {
                    h2 { a href={ "/sites/" (s.code) (q) } { (s.code) } " " (s.name) }
                    p.lead { (super::sites::kind_label(&s.kind, lang)) @if let Some(d) = &s.district { " · " (d) }
                        " · " (lang.pick("gửi bởi ", "sent by ")) strong { (s.actor) } " · " (crate::views::timestamp(s.submitted_at, lang)) }
                }
                @if let Some(m) = map { div.review-map { (mini_map(m)) } }
            }
            (changes(s, lang))
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
                    form method="post" action={ "/review/" (s.id) "/approve" (q) } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (lang.pick("Duyệt", "Approve")) }
                    }
                }
                form method="post" action={ "/review/" (s.id) "/return" (q) } {
                    input type="hidden" name="csrf" value=(csrf);
                    label { (lang.pick("Lý do trả lại", "Reason for returning it"))
                        textarea name="reason" maxlength="1000" required {} }
                    button.secondary type="submit" { (lang.pick("Trả lại", "Return")) }
                }
            }
        }
    }
}

/// The review list, with the outcome of the last decision (ok, message).
pub fn page(
    lang: Lang,
    items: &[(Submission, Option<SiteMap>)],
    csrf: &str,
    outcome: Option<&(bool, String)>,
) -> Markup {
    let body = html! {
        h1 { (lang.pick("Duyệt cập nhật tiến độ", "Review of progress updates")) }
        p.lead { (lang.pick("Cập nhật của kỹ sư chỉ được tính khi đã duyệt. Duyệt thì cập nhật được áp dụng (lịch sử, nhật ký); trả lại thì kỹ sư thấy lý do trên trang Hiện trường và trang công trình.",
                            "Engineers' updates count once approved. Approving applies the update (history, audit); returning it shows the engineer the reason on the Field page and the work's page.")) }
        @if let Some((ok, message)) = outcome {
            @if *ok { p.ok role="status" { (message) } } @else { div.errors role="alert" { p { (message) } } }
        }
        @if items.is_empty() {
            p #review-empty { (lang.pick("Không có cập nhật nào chờ duyệt.", "No updates wait for review.")) }
        }
        @for (s, map) in items { (item(s, map.as_ref(), csrf, lang)) }
    };
    layout(lang, lang.pick("Duyệt cập nhật", "Review"), "/review", body)
}

/// What waits for review or came back, for an engineer (/field) or a work's page.
pub fn notices(lang: Lang, items: &[Submission], with_site: bool) -> Markup {
    let waiting: Vec<&Submission> = items.iter().filter(|s| s.state == "submitted").collect();
    let returned: Vec<&Submission> = items.iter().filter(|s| s.state == "returned").collect();
    html! {
        @if !waiting.is_empty() || !returned.is_empty() {
            section.review-notices #review-notices {
                @if !waiting.is_empty() {
                    p.pending #review-waiting { strong { (lang.pick("Chờ duyệt: ", "Waiting for review: ")) }
                        @for (i, s) in waiting.iter().enumerate() {
                            @if i > 0 { ", " }
                            @if with_site { a href={ "/sites/" (s.code) "?lang=" (lang.code()) } { (s.code) } " " }
                            (status_badge(&s.new_status, lang)) " " (s.new_pct) "% (" (s.actor) ")"
                        } }
                }
                @for s in &returned {
                    p.returned role="alert" data-id=(s.id) {
                        strong { (lang.pick("Bị trả lại", "Returned")) }
                        @if with_site { " · " a href={ "/sites/" (s.code) "?lang=" (lang.code()) } { (s.code) } }
                        " · " (status_badge(&s.new_status, lang)) " " (s.new_pct) "% (" (s.actor) ")"
                        @if let (Some(who), Some(at)) = (&s.decided_actor, s.decided_at) { " · " (who) " · " (crate::views::timestamp(at, lang)) }
                        ": " (s.reason.as_deref().unwrap_or(""))
                    }
                }
            }
        }
    }
}
