//! `/account`: who is signed in, and their personal access tokens for QGIS, GDAL and
//! scripts (made here, shown once, revoked here).

use maud::{html, Markup};

use super::{layout, timestamp};
use crate::accounts::sessions::SessionUser;
use crate::accounts::tokens::{NewToken, Scope, TokenRow, DEFAULT_DAYS, MAX_DAYS};
use crate::i18n::Lang;

/// What the account page shows besides the user: their tokens, the one just made (its
/// secret, this once) and why the last request was refused.
pub struct AccountPage<'a> {
    pub tokens: &'a [TokenRow],
    pub made: Option<&'a NewToken>,
    pub error: Option<&'a str>,
}

fn scope_label(scope: Scope, lang: Lang) -> &'static str {
    match scope {
        Scope::Read => lang.pick("Chỉ đọc", "Read only"),
        Scope::ReadWrite => lang.pick("Đọc và ghi", "Read and write"),
    }
}

pub fn page(lang: Lang, user: &SessionUser, p: &AccountPage<'_>) -> Markup {
    let now = chrono::Utc::now();
    let body = html! {
        h1 { (lang.pick("Tài khoản", "Account")) }
        dl.account {
            dt { (lang.pick("Tên đăng nhập", "User name")) } dd { (user.username) }
            dt { (lang.pick("Vai trò", "Role")) } dd { (user.role.label(lang)) }
            dt { (lang.pick("Độ mật được xem", "Clearance")) } dd { (user.clearance.label(lang)) }
        }
        h2 #tokens { (lang.pick("Mã truy cập cá nhân", "Personal access tokens")) }
        p.lead { (lang.pick(
            "Cho QGIS, GDAL và các chương trình: gửi mã như mật khẩu (HTTP Basic, tên đăng nhập của bạn) hoặc “Authorization: Bearer”. Mã thấy đúng những gì tài khoản này được xem.",
            "For QGIS, GDAL and scripts: send the token as the password (HTTP Basic, with your user name) or as “Authorization: Bearer”. It sees exactly what this account sees.")) }
        @if let Some(e) = p.error { div.errors role="alert" { p { (e) } } }
        @if let Some(made) = p.made {
            div.made role="status" {
                p { strong { (lang.pick("Mã mới — chép ngay, mã sẽ không hiện lại:", "New token — copy it now, it is not shown again:")) } }
                p { code #new-token { (made.secret) } }
            }
        }
        @if p.tokens.is_empty() {
            p.empty { (lang.pick("Chưa có mã nào.", "No tokens yet.")) }
        } @else {
            table.tokens {
                thead { tr {
                    th { (lang.pick("Tên", "Name")) } th { (lang.pick("Quyền", "Scope")) }
                    th { (lang.pick("Hết hạn", "Expires")) } th { (lang.pick("Dùng lần cuối", "Last used")) } th {}
                } }
                tbody {
                    @for t in p.tokens {
                        tr data-token=(t.id) {
                            td { (t.name) }
                            td { (scope_label(t.scope, lang)) }
                            td { (timestamp(t.expires_at, lang)) }
                            td { @match t.last_used_at { Some(at) => (timestamp(at, lang)), None => "—" } }
                            td {
                                @if t.revoked {
                                    (lang.pick("Đã thu hồi", "Revoked"))
                                } @else if t.expires_at < now {
                                    (lang.pick("Đã hết hạn", "Expired"))
                                } @else {
                                    form method="post" action={ "/account/tokens/" (t.id) "/revoke?lang=" (lang.code()) } {
                                        input type="hidden" name="csrf" value=(user.csrf_token);
                                        button type="submit" { (lang.pick("Thu hồi", "Revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.token method="post" action={ "/account/tokens?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(user.csrf_token);
            label { (lang.pick("Tên (dùng cho việc gì)", "Name (what it is for)"))
                input type="text" name="name" required maxlength="80" placeholder="QGIS"; }
            label { (lang.pick("Quyền", "Scope"))
                select name="scope" {
                    option value="read" { (scope_label(Scope::Read, lang)) }
                    option value="read,write" { (scope_label(Scope::ReadWrite, lang)) }
                }
            }
            label { (lang.pick("Số ngày hiệu lực", "Days valid"))
                input type="number" name="days" min="1" max=(MAX_DAYS) value=(DEFAULT_DAYS) required; }
            button type="submit" { (lang.pick("Tạo mã", "Make a token")) }
        }
    };
    layout(lang, lang.pick("Tài khoản", "Account"), "/account", body)
}
