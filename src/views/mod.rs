//! Server-rendered pages (maud): the shared layout and one module per page.

pub mod account;
pub mod admin;
pub mod auth;
pub mod budget;
pub mod communes;
pub mod context;
pub mod dashboard;
pub mod exports;
pub mod features;
pub mod field;
pub mod home;
pub mod imports;
pub mod investments;
pub mod land;
pub mod map;
pub mod progress;
pub mod reports;
pub mod review;
pub mod search;
pub mod sites;

use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

use crate::i18n::Lang;

/// When, in Vietnam's time, as the page's language writes it.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    let local = at + chrono::Duration::hours(7);
    match lang {
        Lang::Vi => local.format("%d/%m/%Y %H:%M").to_string(),
        Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// The frame of every page: title, stylesheet, header with the language switch.
pub fn layout(lang: Lang, title: &str, path: &str, body: Markup) -> Markup {
    let other = match lang {
        Lang::Vi => ("en", "English"),
        Lang::En => ("vi", "Tiếng Việt"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · kvpt" }
                link rel="stylesheet" href="/static/kvpt.css";
                link rel="manifest" href="/manifest.webmanifest";
                link rel="icon" href="/static/icons/kvpt-192.png" type="image/png";
                meta name="theme-color" content="#7a1f1f";
                // The phone's queue and offline pages (a no-op without a service worker).
                script src="/static/queue.js" defer {}
                script src="/static/field.js" defer {}
            }
            body data-user=[signed_in_user()] data-lang=(lang.code()) {
                header.top {
                    a.brand href={ "/?lang=" (lang.code()) } {
                        "kvpt"
                        span.sub { (lang.pick("Công trình quốc phòng địa phương – Tây Ninh",
                                              "Local defence works – Tây Ninh")) }
                    }
                    // A menu button on narrow screens (no script: a checkbox and its label).
                    input #menu-toggle type="checkbox" hidden;
                    label.menu-button for="menu-toggle" aria-label=(lang.pick("Trình đơn", "Menu")) { "☰" }
                    nav.links {
                        (field_link(lang))
                        (review_link(lang))
                        a href={ "/map?lang=" (lang.code()) } { (lang.pick("Bản đồ", "Map")) }
                        a href={ "/dashboard?lang=" (lang.code()) } { (lang.pick("Tổng hợp", "Dashboard")) }
                        a href={ "/investments?lang=" (lang.code()) } { (lang.pick("Đầu tư", "Investments")) }
                        a href={ "/reports?lang=" (lang.code()) } { (lang.pick("Báo cáo", "Reports")) }
                        a href={ "/collections?f=html&lang=" (lang.code()) } { (lang.pick("Dữ liệu", "Data")) }
                        a href={ "/public/budget?lang=" (lang.code()) } { (lang.pick("Công khai ngân sách", "Public budget")) }
                        a.lang href={ (path) "?lang=" (other.0) } hreflang=(other.0) { (other.1) }
                        (user_menu(lang))
                    }
                }
                main { (body) }
                footer {
                    (lang.pick("Dữ liệu minh họa là dữ liệu giả lập, không phải vị trí thật.",
                               "Demo data is synthetic: no real locations."))
                }
            }
        }
    }
}

/// The signed-in user's name, which the field scripts key the device's queue and caches by.
pub(super) fn signed_in_user() -> Option<String> {
    context::current().user.map(|u| u.username.clone())
}

/// The review list, for reviewers and administrators.
pub(super) fn review_link(lang: Lang) -> Markup {
    let reviews = context::current().user.is_some_and(|u| {
        matches!(
            u.role,
            crate::domain::UserRole::Reviewer | crate::domain::UserRole::Admin
        )
    });
    html! {
        @if reviews {
            a href={ "/review?lang=" (lang.code()) } { (lang.pick("Duyệt", "Review")) }
        }
    }
}

/// The field app, for those who update sites.
pub(super) fn field_link(lang: Lang) -> Markup {
    let engineer = context::current()
        .user
        .is_some_and(|u| u.role == crate::domain::UserRole::Engineer);
    html! {
        @if engineer {
            a href={ "/field?lang=" (lang.code()) } { (lang.pick("Hiện trường", "Field")) }
        }
    }
}

/// Who is signed in, with a sign-out button; or a sign-in link back to this page.
pub fn user_menu(lang: Lang) -> Markup {
    let context = context::current();
    html! {
        @if let Some(user) = &context.user {
            @if user.role == crate::domain::UserRole::Admin {
                a href={ "/admin/users?lang=" (lang.code()) } { (lang.pick("Tài khoản", "Accounts")) }
                a href={ "/admin/profiles?lang=" (lang.code()) } { (lang.pick("Hồ sơ xuất", "Export profiles")) }
                a href={ "/admin/communes?lang=" (lang.code()) } { (lang.pick("Ranh giới xã", "Communes")) }
            }
            @if matches!(user.role, crate::domain::UserRole::Admin | crate::domain::UserRole::Engineer) {
                a href={ "/imports?lang=" (lang.code()) } { (lang.pick("Nhập tệp", "Import")) }
            }
            a.user href={ "/account?lang=" (lang.code()) } title=(user.role.label(lang)) { (user.display_name) }
            form.logout method="post" action="/logout" {
                input type="hidden" name="csrf" value=(user.csrf_token);
                button type="submit" { (lang.pick("Đăng xuất", "Sign out")) }
            }
        } @else {
            @let next = if context.path_and_query.is_empty() { "/".to_string() } else { context.path_and_query.clone() };
            a.signin href={ "/login?lang=" (lang.code()) "&next=" (urlencode(&next)) } {
                (lang.pick("Đăng nhập", "Sign in"))
            }
        }
    }
}

/// A query-string value.
pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A page saying what went wrong, in the page's language.
pub fn error_page(lang: Lang, status: StatusCode, message: &str) -> Markup {
    let title = lang.pick("Lỗi", "Error");
    layout(
        lang,
        title,
        "/",
        html! {
            section.error {
                h1 { (title) " " (status.as_u16()) }
                p.message { (message) }
                p { a href={ "/?lang=" (lang.code()) } { (lang.pick("Về trang chủ", "Back to the home page")) } }
            }
        },
    )
}
