//! The sign-in page.

use maud::{html, Markup};

use super::layout;
use crate::i18n::Lang;

pub fn login(lang: Lang, csrf: &str, next: &str, username: &str, error: Option<&str>) -> Markup {
    let body = html! {
        section.login {
            h1 { (lang.pick("Đăng nhập", "Sign in")) }
            @if let Some(error) = error { p.error-message role="alert" { (error) } }
            form.login method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                input type="hidden" name="lang" value=(lang.code());
                label { (lang.pick("Tên đăng nhập", "User name"))
                    input type="text" name="username" value=(username) autocomplete="username" required autofocus; }
                label { (lang.pick("Mật khẩu", "Password"))
                    input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { (lang.pick("Đăng nhập", "Sign in")) }
            }
        }
    };
    layout(lang, lang.pick("Đăng nhập", "Sign in"), "/login", body)
}
