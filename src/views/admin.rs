//! `/admin/users`: accounts, their roles, clearances, units and districts (administrators).

use maud::{html, Markup};

use super::layout;
use crate::accounts::users::UserSummary;
use crate::domain::{Classification, UserRole};
use crate::i18n::Lang;

pub fn users(
    lang: Lang,
    users: &[UserSummary],
    csrf: &str,
    message: Option<(bool, &str)>,
) -> Markup {
    let role_select = |current: &str| {
        html! {
            select name="role" aria-label=(lang.pick("Vai trò", "Role")) {
                @for r in UserRole::ALL { option value=(r.code()) selected[r.code() == current] { (r.label(lang)) } }
            }
        }
    };
    let clearance_select = |current: &str| {
        html! {
            select name="clearance" aria-label=(lang.pick("Độ mật được xem", "Clearance")) {
                @for c in Classification::ALL { option value=(c.code()) selected[c.code() == current] { (c.label(lang)) } }
            }
        }
    };
    let body = html! {
        h1 { (lang.pick("Tài khoản", "Accounts")) }
        @if let Some((ok, text)) = message {
            @if ok { p.ok role="status" { (text) } } @else { div.errors role="alert" { (text) } }
        }
        div.scroll { table #users {
            thead { tr {
                th { (lang.pick("Tên đăng nhập", "User name")) } th { (lang.pick("Họ tên", "Name")) }
                th { (lang.pick("Vai trò · độ mật · đơn vị · huyện", "Role · clearance · unit · districts")) } th {}
            } }
            tbody {
                @for u in users {
                    tr class=(if u.disabled { "disabled" } else { "" }) {
                        td { (u.username) @if u.disabled { " (" (lang.pick("đã khóa", "disabled")) ")" } }
                        td { (u.display_name) }
                        td {
                            form.user-line method="post" action={ "/admin/users/" (u.username) "?lang=" (lang.code()) } {
                                input type="hidden" name="csrf" value=(csrf);
                                (role_select(&u.role)) (clearance_select(&u.clearance))
                                input type="text" name="unit" value=(u.unit.as_deref().unwrap_or("")) placeholder=(lang.pick("Đơn vị", "Unit"));
                                input type="text" name="districts" value=(u.districts.join(",")) placeholder="TBI,TCH";
                                button type="submit" name="action" value="save" { (lang.pick("Lưu", "Save")) }
                                @if u.disabled {
                                    button type="submit" name="action" value="enable" { (lang.pick("Mở khóa", "Enable")) }
                                } @else {
                                    button type="submit" name="action" value="disable" { (lang.pick("Khóa", "Disable")) }
                                }
                            }
                        }
                    }
                }
            }
        } }
        h2 { (lang.pick("Thêm tài khoản", "Add an account")) }
        form.budget method="post" action={ "/admin/users?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            label { (lang.pick("Tên đăng nhập", "User name")) input type="text" name="username" required pattern="[a-z0-9._-]{2,64}"; }
            label { (lang.pick("Họ tên", "Name")) input type="text" name="display_name" required; }
            label { (lang.pick("Vai trò", "Role")) (role_select("viewer")) }
            label { (lang.pick("Độ mật được xem", "Clearance")) (clearance_select("internal")) }
            label { (lang.pick("Đơn vị", "Unit")) input type="text" name="unit"; }
            label { (lang.pick("Huyện (kỹ sư)", "Districts (engineers)")) input type="text" name="districts" placeholder="TBI,TCH"; }
            label { (lang.pick("Mật khẩu ban đầu (≥ 10 ký tự)", "First password (10 characters or more)"))
                input type="password" name="password" required minlength="10" autocomplete="new-password"; }
            button type="submit" { (lang.pick("Thêm", "Add")) }
        }
    };
    layout(
        lang,
        lang.pick("Tài khoản", "Accounts"),
        "/admin/users",
        body,
    )
}
