//! The report as a DOCX in the layout of Nghị định 30/2020/NĐ-CP (Appendix I): A4, Times
//! New Roman 14, margins 20/20/30/15 mm; the issuing body and the number at the top left,
//! the national title and motto at the top right with the place and date, the
//! classification mark under the number, the document's name and subject centred, the body,
//! then "Nơi nhận" at the bottom left and the signer at the bottom right. Pure.

use docx_rs::{
    AlignmentType, BreakType, Docx, LineSpacing, PageMargin, Paragraph, Pic, Run, RunFonts, Table,
    TableCell, TableRow, WidthType,
};

use super::{Report, REPORT_LIST_LIMIT};
use crate::db::dashboard::GroupRow;
use crate::domain::{FundingSource, SiteKind, SiteStatus};
use crate::i18n::{format_date, format_decimal, format_int, Lang};

/// The text width of an A4 page with 30 mm and 15 mm side margins, in twentieths of a point.
const TEXT_WIDTH: usize = 9356;
/// Half-points: 14 pt body, 12 pt tables, 13 pt the header block.
const BODY: usize = 28;
const SMALL: usize = 24;
const HEADER: usize = 26;

fn n(v: i64) -> String {
    format_int(v, Lang::Vi)
}

/// Money in the tables: millions of đồng (the unit said above each table).
fn million(v: i64) -> String {
    crate::i18n::format_million_vnd(v, Lang::Vi)
}

/// "Đơn vị tính: triệu đồng", right-aligned above a money table.
fn unit_line() -> Paragraph {
    Paragraph::new()
        .add_run(text("Đơn vị tính: triệu đồng").italic().size(SMALL))
        .align(AlignmentType::Right)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| {
        format!("{}%", format_decimal(v, 1, Lang::Vi))
    })
}

fn rate(part: i64, whole: i64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        pct(Some(part as f64 * 100.0 / whole as f64))
    }
}

fn text(t: &str) -> Run {
    Run::new().add_text(t)
}

fn para(t: &str) -> Paragraph {
    Paragraph::new().add_run(text(t)).align(AlignmentType::Both)
}

fn centred(run: Run) -> Paragraph {
    Paragraph::new().add_run(run).align(AlignmentType::Center)
}

fn heading(t: &str) -> Paragraph {
    Paragraph::new()
        .add_run(text(t).bold())
        .line_spacing(LineSpacing::new().before(120).after(60))
        .keep_next(true)
}

fn cell(t: &str, width: usize, size: usize) -> TableCell {
    TableCell::new()
        .add_paragraph(Paragraph::new().add_run(text(t).size(size)))
        .width(width, WidthType::Dxa)
}

fn num_cell(t: &str, width: usize) -> TableCell {
    TableCell::new()
        .add_paragraph(
            Paragraph::new()
                .add_run(text(t).size(SMALL))
                .align(AlignmentType::Right),
        )
        .width(width, WidthType::Dxa)
}

/// A table with a bold header row; `numeric` columns are right-aligned.
fn table(head: &[&str], rows: &[Vec<String>], widths: &[usize], numeric: &[bool]) -> Table {
    let header = TableRow::new(
        head.iter()
            .zip(widths)
            .map(|(h, w)| {
                TableCell::new()
                    .add_paragraph(centred(text(h).bold().size(SMALL)))
                    .width(*w, WidthType::Dxa)
            })
            .collect(),
    );
    let body = rows.iter().map(|r| {
        TableRow::new(
            r.iter()
                .zip(widths)
                .zip(numeric)
                .map(|((v, w), num)| {
                    if *num {
                        num_cell(v, *w)
                    } else {
                        cell(v, *w, SMALL)
                    }
                })
                .collect(),
        )
    });
    Table::new(std::iter::once(header).chain(body).collect()).set_grid(widths.to_vec())
}

fn kind_name(code: &str) -> String {
    SiteKind::from_code(code).map_or_else(|| code.to_string(), |k| k.label(Lang::Vi).to_string())
}

fn status_name(code: &str) -> String {
    SiteStatus::from_code(code).map_or_else(|| code.to_string(), |s| s.label(Lang::Vi).to_string())
}

/// Progress by group: total, done, share, under way, late, mean %.
fn progress_rows(rows: &[GroupRow], label: impl Fn(&GroupRow) -> String) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let done = r.completed + r.handed_over;
            vec![
                label(r),
                n(r.total),
                n(done),
                rate(done, r.total),
                n(r.planned + r.design + r.under_construction),
                n(r.late),
                pct(r.mean_pct),
            ]
        })
        .collect()
}

/// The top block: issuing body and number (with the classification mark) on the left,
/// national title, motto, place and date on the right.
fn top_block(r: &Report) -> Table {
    let (left, right) = (3900, TEXT_WIDTH - 3900);
    let mut issuer = TableCell::new()
        .add_paragraph(centred(text(&r.issuer.0).size(SMALL)))
        .add_paragraph(centred(text(&r.issuer.1).bold().size(SMALL)))
        .add_paragraph(centred(text("———").size(HEADER)))
        .add_paragraph(centred(text(&format!("Số: {}", r.number)).size(HEADER)));
    if let Some(mark) = r.marking.mark() {
        issuer = issuer.add_paragraph(
            Paragraph::new()
                .add_run(text(mark).bold().size(BODY).color("C00000"))
                .align(AlignmentType::Center)
                .id("classification-mark"),
        );
    }
    let nation = TableCell::new()
        .add_paragraph(centred(
            // 12 pt, on one line (Nghị định 30: 12–13 pt).
            text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
                .bold()
                .size(SMALL),
        ))
        .add_paragraph(centred(
            text("Độc lập - Tự do - Hạnh phúc").bold().size(BODY),
        ))
        .add_paragraph(centred(text("———————————").size(HEADER)))
        .add_paragraph(centred(
            text(&format!(
                "{}, ngày {:02} tháng {:02} năm {}",
                r.place,
                chrono::Datelike::day(&r.issued),
                chrono::Datelike::month(&r.issued),
                chrono::Datelike::year(&r.issued)
            ))
            .italic()
            .size(BODY),
        ));
    Table::without_borders(vec![TableRow::new(vec![
        issuer.width(left, WidthType::Dxa),
        nation.width(right, WidthType::Dxa),
    ])])
    .set_grid(vec![left, right])
}

/// The bottom block: recipients on the left, the signer on the right.
fn bottom_block(r: &Report) -> Table {
    let (left, right) = (4600, TEXT_WIDTH - 4600);
    let mut recipients = TableCell::new()
        .add_paragraph(Paragraph::new().add_run(text("Nơi nhận:").bold().italic().size(SMALL)));
    for to in &r.recipients {
        recipients =
            recipients.add_paragraph(Paragraph::new().add_run(text(&format!("- {to};")).size(22)));
    }
    recipients =
        recipients.add_paragraph(Paragraph::new().add_run(text("- Lưu: VT, TM.").size(22)));
    let signer = TableCell::new()
        .add_paragraph(centred(text(&r.signer.0).bold().size(BODY)))
        .add_paragraph(centred(
            text("(Ký, ghi rõ họ tên, đóng dấu)").italic().size(SMALL),
        ))
        .add_paragraph(Paragraph::new())
        .add_paragraph(Paragraph::new())
        .add_paragraph(Paragraph::new())
        .add_paragraph(centred(text(&r.signer.1).bold().size(BODY)));
    Table::without_borders(vec![TableRow::new(vec![
        recipients.width(left, WidthType::Dxa),
        signer.width(right, WidthType::Dxa),
    ])])
    .set_grid(vec![left, right])
}

/// The body's sections, in order.
fn body(mut doc: Docx, r: &Report) -> Docx {
    let d = &r.dashboard;
    let t = &d.totals;
    doc = doc.add_paragraph(heading("I. TÌNH HÌNH CHUNG"));
    if let Some(counted) = &r.counted {
        doc = doc.add_paragraph(para(counted));
    }
    doc = doc
        .add_paragraph(para(&format!(
            "Tính đến ngày {}, {} có {} công trình, đã hoàn thành hoặc bàn giao {} ({}); {} công trình chậm tiến độ. Tiến độ bình quân {}, tiến độ theo vốn {}.",
            format_date(r.as_of, Lang::Vi),
            r.scope_label,
            n(t.total),
            n(t.done),
            rate(t.done, t.total),
            n(t.late),
            pct(t.mean_pct),
            pct(t.weighted_pct)
        )))
        .add_paragraph(para(&format!(
            "Kinh phí: dự toán {} đồng, phân bổ {} đồng, giải ngân {} đồng (tỷ lệ giải ngân {}), quyết toán {} đồng.",
            n(t.estimate.unwrap_or(0)),
            n(t.allocated.unwrap_or(0)),
            n(t.disbursed.unwrap_or(0)),
            rate(t.disbursed.unwrap_or(0), t.allocated.unwrap_or(0)),
            n(t.settled.unwrap_or(0))
        )));
    let head = [
        "",
        "Tổng số",
        "Hoàn thành",
        "Tỷ lệ",
        "Đang thực hiện",
        "Chậm",
        "Tiến độ TB",
    ];
    let widths = [2956, 1000, 1100, 1000, 1300, 900, 1100];
    let numeric = [false, true, true, true, true, true, true];
    let mut by_kind_head = head;
    by_kind_head[0] = "Loại công trình";
    let mut by_district_head = head;
    by_district_head[0] = "Huyện";
    doc = doc
        .add_paragraph(heading("II. TIẾN ĐỘ THEO LOẠI CÔNG TRÌNH VÀ THEO HUYỆN"))
        .add_paragraph(para("1. Theo loại công trình:"))
        .add_table(table(
            &by_kind_head,
            &progress_rows(&d.by_kind, |g| kind_name(&g.key)),
            &widths,
            &numeric,
        ))
        .add_paragraph(para("2. Theo huyện (địa bàn):"))
        .add_table(table(
            &by_district_head,
            &progress_rows(&d.by_district, |g| {
                crate::domain::area_name(&g.key, &g.name, crate::i18n::Lang::Vi)
            }),
            &widths,
            &numeric,
        ));
    let plan: Vec<Vec<String>> = d
        .plan
        .iter()
        .map(|p| {
            vec![
                p.year.to_string(),
                FundingSource::from_code(&p.source)
                    .map_or(p.source.clone(), |s| s.label(Lang::Vi).to_string()),
                million(p.estimate),
                million(p.allocated),
                million(p.disbursed),
                million(p.settled),
                p.ceiling.map_or("—".into(), |c| million(c.ceiling)),
            ]
        })
        .collect();
    doc = doc
        .add_paragraph(heading("III. KẾ HOẠCH VỐN THEO NĂM VÀ NGUỒN VỐN"))
        .add_paragraph(unit_line())
        .add_table(table(
            &[
                "Năm",
                "Nguồn vốn",
                "Dự toán",
                "Phân bổ",
                "Giải ngân",
                "Quyết toán",
                "Trung hạn được giao",
            ],
            &plan,
            &[800, 2256, 1260, 1260, 1260, 1260, 1260],
            &[false, false, true, true, true, true, true],
        ));
    let f = &d.flags;
    doc = doc
        .add_paragraph(heading("IV. CÔNG TRÌNH CHẬM TIẾN ĐỘ VÀ CẢNH BÁO"))
        .add_paragraph(para(&format!(
            "Cảnh báo: giải ngân vượt tiến độ {} công trình; đã quyết toán nhưng chưa hoàn thành {}; hoàn thành nhưng chưa giải ngân {}; lâu không cập nhật {}; phân bổ vượt kế hoạch trung hạn được giao {}.",
            n(f.ahead), n(f.settled_not_done), n(f.done_nothing_disbursed), n(f.stale), n(f.over_ceiling)
        )));
    let late: Vec<Vec<String>> = r
        .late
        .iter()
        .map(|w| {
            vec![
                w.code.clone(),
                w.name.clone(),
                w.district.clone(),
                status_name(&w.status),
                format!("{}%", w.pct),
            ]
        })
        .collect();
    doc = doc.add_paragraph(para(&format!(
        "Công trình chậm tiến độ: {}{}.",
        n(t.late),
        if t.late as usize > r.late.len() {
            format!(" (liệt kê {} công trình đầu)", r.late.len())
        } else {
            String::new()
        }
    )));
    if !late.is_empty() {
        doc = doc.add_table(table(
            &["Mã", "Tên công trình", "Huyện", "Trạng thái", "%"],
            &late,
            &[1900, 3456, 1500, 1800, 700],
            &[false, false, false, false, true],
        ));
    }
    let s = &d.search;
    let (abroad_done, abroad_total) = s.abroad_done();
    doc = doc
        .add_paragraph(heading("V. TÌM KIẾM, QUY TẬP HÀI CỐT LIỆT SĨ"))
        .add_paragraph(para(&format!(
            "Kết luận địa bàn, vẽ bản đồ: {}/{} huyện, {}/{} xã, {}/{} địa bàn đơn vị tại Campuchia; {} khu vực, đã kết luận {}; diện tích đã tìm kiếm {} ha trên {} ha; hài cốt tìm thấy {}/{} dự kiến.",
            s.districts_done, s.districts_total, s.communes_done, s.communes_total,
            abroad_done, abroad_total, n(s.zones), n(s.zones_concluded),
            format_decimal(s.concluded_area_ha, 1, Lang::Vi),
            format_decimal(s.zone_area_ha, 1, Lang::Vi),
            n(s.remains_found), n(s.remains_expected)
        )));
    let (w, h) = super::map::SIZE;
    // 16 cm wide.
    let emu_w = 16 * 360_000;
    let emu_h = emu_w / w * h;
    doc = doc
        .add_paragraph(heading("VI. BẢN ĐỒ CÔNG TRÌNH"))
        .add_paragraph(centred(Run::new().add_image(
            Pic::new_with_dimensions(r.map_png.clone(), w, h).size(emu_w, emu_h),
        )))
        .add_paragraph(centred(
            text(&format!(
                "Hình 1. Công trình {} tại ngày {} (chấm màu theo trạng thái: xám kế hoạch, xanh lam thiết kế, cam đang thi công, xanh lá hoàn thành, xanh đậm bàn giao, hồng tạm dừng; đường đỏ: biên giới). Bản đồ do kvpt dựng.",
                r.scope_label,
                format_date(r.as_of, Lang::Vi)
            ))
            .italic()
            .size(SMALL),
        ));
    let changes: Vec<Vec<String>> = r
        .changes
        .iter()
        .map(|c| {
            vec![
                format_date(crate::i18n::day_in_vietnam(c.at), Lang::Vi),
                c.code.clone(),
                c.name.clone(),
                // The status moved, or stayed (said once).
                match c.old_status.as_deref() {
                    Some(old) if old == c.new_status => status_name(old),
                    old => format!(
                        "{} → {}",
                        old.map_or("—".into(), status_name),
                        status_name(&c.new_status)
                    ),
                },
                format!("{}% → {}%", c.old_pct.unwrap_or(0), c.new_pct),
            ]
        })
        .collect();
    doc = doc
        .add_paragraph(heading("VII. CÔNG TRÌNH THAY ĐỔI TRONG KỲ"))
        .add_paragraph(para(&format!(
            "Từ ngày {} đến ngày {}: {} lần cập nhật{}.",
            format_date(r.from, Lang::Vi),
            format_date(r.as_of, Lang::Vi),
            n(r.changes_total),
            if r.changes_total as usize > r.changes.len() {
                format!(" (liệt kê {} lần gần nhất)", REPORT_LIST_LIMIT)
            } else {
                String::new()
            }
        )));
    if !changes.is_empty() {
        doc = doc.add_table(table(
            &["Ngày", "Mã", "Tên công trình", "Trạng thái", "Tiến độ"],
            &changes,
            &[1400, 2000, 2356, 2000, 1600],
            &[false, false, false, false, false],
        ));
    }
    investments(doc, r)
}

/// Section VIII: the investments without a place on the map (the directive's §3 and §8).
fn investments(mut doc: Docx, r: &Report) -> Docx {
    let [count, estimate, disbursed] = r.investments_total;
    doc = doc
        .add_paragraph(heading("VIII. ĐẦU TƯ KHÔNG GẮN VỊ TRÍ"))
        .add_paragraph(para(&format!(
            "Tự động hóa chỉ huy, mạng LAN, phần mềm dùng chung; mua sắm trang thiết bị, phương tiện: {} khoản{}, dự toán {} đồng, đã giải ngân {} đồng.",
            n(count),
            if count as usize > r.investments.len() {
                format!(" (liệt kê {REPORT_LIST_LIMIT} khoản đầu)")
            } else {
                String::new()
            },
            n(estimate),
            n(disbursed)
        )));
    if r.investments.is_empty() {
        return doc;
    }
    let rows: Vec<Vec<String>> = r
        .investments
        .iter()
        .map(|(s, category)| {
            vec![
                s.code.clone(),
                s.name.clone(),
                crate::domain::InvestmentCategory::from_code(category)
                    .map_or(category.clone(), |c| c.label(Lang::Vi).to_string()),
                format!("{} · {}%", status_name(&s.status), s.pct),
                million(s.estimate),
                million(s.disbursed),
            ]
        })
        .collect();
    doc.add_paragraph(unit_line()).add_table(table(
        &["Mã", "Tên", "Danh mục", "Tiến độ", "Dự toán", "Giải ngân"],
        &rows,
        &[1500, 2456, 1600, 1500, 1150, 1150],
        &[false, false, false, false, true, true],
    ))
}

/// The report as DOCX bytes.
pub fn write(r: &Report) -> Result<Vec<u8>, docx_rs::DocxError> {
    let fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .cs("Times New Roman")
        .east_asia("Times New Roman");
    let mut doc = Docx::new()
        .page_size(11906, 16838)
        .page_margin(
            PageMargin::new()
                .top(1134)
                .bottom(1134)
                .left(1701)
                .right(850)
                .header(720)
                .footer(720),
        )
        .default_fonts(fonts)
        .default_size(BODY)
        .add_table(top_block(r))
        .add_paragraph(Paragraph::new())
        .add_paragraph(centred(text("BÁO CÁO").bold().size(BODY)))
        .add_paragraph(centred(text(&r.subject).bold().size(BODY)))
        .add_paragraph(centred(text("——————").size(BODY)));
    doc = body(doc, r);
    doc = doc
        .add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::TextWrapping)))
        .add_table(bottom_block(r));
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out)?;
    Ok(out.into_inner())
}
