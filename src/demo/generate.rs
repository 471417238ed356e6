//! The synthetic dataset: made-up works placed plausibly in the real province
//! and border context, with a progress history and budget lines each. Pure and
//! deterministic: the same context, size and seed give the same sites.
//!
//! Nothing here is a real location. Placement follows the shape of the
//! programme: militia posts and Border Guard works a few kilometres inside the
//! border, residential points beside the posts, command posts and depots near
//! district centres, markers on the line, search zones on both sides of it.

use chrono::{Datelike, Days, Months, NaiveDate};
use geo::{
    Area, Contains, Distance, Euclidean, Intersects, LineString, MultiPolygon, Point, Polygon, Rect,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::context::{Context, District, ForeignArea};
use crate::domain::{
    Classification, FundingSource, InvestmentCategory, Programme, SiteKind, SiteStatus,
};

/// The programme's reporting window: histories run from the directive to its end.
pub fn directive_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 7, 17).expect("valid date")
}
pub fn programme_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date")
}

/// Militia posts and Border Guard works lie at most this far inside the border.
pub const BORDER_BAND_M: f64 = 4_500.0;

#[derive(Debug, Clone, PartialEq)]
pub struct DemoSite {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub kind: SiteKind,
    /// EWKT in EPSG:4326, lon/lat.
    pub ewkt: String,
    pub programme: Programme,
    pub phase: Option<i16>,
    pub responsible_unit: String,
    pub status: SiteStatus,
    pub progress_pct: i16,
    pub planned_start: NaiveDate,
    pub planned_finish: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub classification: Classification,
    pub history: Vec<HistoryRow>,
    pub budget: Vec<BudgetRow>,
    pub zone: Option<ZoneRow>,
    /// What an investment without a place buys (its `ewkt` is empty).
    pub category: Option<InvestmentCategory>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub date: NaiveDate,
    pub old: Option<(SiteStatus, i16)>,
    pub new_status: SiteStatus,
    pub new_pct: i16,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRow {
    pub year: i16,
    pub source: FundingSource,
    pub estimate_vnd: i64,
    pub allocated_vnd: i64,
    pub disbursed_vnd: i64,
    pub settled_vnd: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRow {
    pub remains_expected: i32,
    pub remains_found: i32,
    pub area_concluded_ha: f64,
    pub map_drawn: bool,
    pub concluded_on: Option<NaiveDate>,
    pub unit_in_charge: String,
}

/// Share of each kind, in per mille; residential points match militia posts one to one.
const WEIGHTS: &[(SiteKind, u32)] = &[
    (SiteKind::MilitiaPostCombatWork, 90),
    (SiteKind::MilitiaResidentialPoint, 90),
    (SiteKind::BorderGuardCombatWork, 40),
    (SiteKind::BorderMarker, 60),
    (SiteKind::DistrictCommandPost, 20),
    (SiteKind::ProvincialCommandPost, 5),
    (SiteKind::StrongpointCluster, 80),
    (SiteKind::LogisticsCoreWork, 40),
    (SiteKind::Warehouse, 60),
    (SiteKind::Workshop, 40),
    (SiteKind::MobilityRoad, 80),
    (SiteKind::Barracks, 80),
    (SiteKind::RemainsSearchZone, 120),
    (SiteKind::DefenceLand, 95),
    (SiteKind::CommandAutomation, 1),
    (SiteKind::Procurement, 1),
    (SiteKind::GratitudeHouse, 100),
];

/// How many sites of each kind make `total`, every kind present once `total` allows.
pub fn kind_counts(total: usize) -> Vec<(SiteKind, usize)> {
    let sum: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut counts: Vec<(SiteKind, usize)> = WEIGHTS
        .iter()
        .map(|&(kind, w)| (kind, total * w as usize / sum as usize))
        .collect();
    if total >= WEIGHTS.len() {
        for c in counts.iter_mut() {
            c.1 = c.1.max(1);
        }
    }
    // Residential points pair with posts.
    let posts = counts[0].1;
    counts[1].1 = posts;
    let used: usize = counts.iter().map(|c| c.1).sum();
    let last = counts.len() - 1;
    if used <= total {
        counts[last].1 += total - used;
    } else {
        // Only for tiny totals: trim from the end, keeping the post/residence pairs.
        let mut excess = used - total;
        for c in counts.iter_mut().rev() {
            let take = excess.min(c.1);
            c.1 -= take;
            excess -= take;
        }
        let posts = counts[0].1.min(counts[1].1);
        counts[0].1 = posts;
        counts[1].1 = posts;
        let used: usize = counts.iter().map(|c| c.1).sum();
        counts[last].1 += total - used;
    }
    counts
}

struct Generator<'a> {
    ctx: &'a Context,
    rng: ChaCha8Rng,
    border_len: Vec<f64>,
    serial: std::collections::BTreeMap<&'static str, usize>,
}

/// Generates `total` sites from `seed`.
pub fn generate(ctx: &Context, total: usize, seed: u64) -> Vec<DemoSite> {
    let border_len = ctx.border.iter().map(line_length).collect();
    let mut gen = Generator {
        ctx,
        rng: ChaCha8Rng::seed_from_u64(seed),
        border_len,
        serial: Default::default(),
    };
    let mut sites = Vec::with_capacity(total);
    for (kind, count) in kind_counts(total) {
        match kind {
            // Generated together with their posts.
            SiteKind::MilitiaResidentialPoint => {}
            SiteKind::MilitiaPostCombatWork => {
                for _ in 0..count {
                    let (post, residence) = gen.militia_pair();
                    sites.push(post);
                    sites.push(residence);
                }
            }
            SiteKind::BorderMarker => {
                for i in 0..count {
                    sites.push(gen.border_marker(i, count));
                }
            }
            _ => {
                for _ in 0..count {
                    sites.push(gen.site(kind));
                }
            }
        }
    }
    sites
}

enum Shape {
    Point(Point),
    Line(LineString),
    Polygon(Polygon),
}

/// Where a site ended up: a district of Tây Ninh or a Cambodian province.
enum Place<'a> {
    District(&'a District),
    Abroad(&'a ForeignArea),
}

impl Place<'_> {
    fn abbr(&self) -> &str {
        match self {
            Place::District(d) => &d.abbr,
            Place::Abroad(a) => &a.abbr,
        }
    }
    fn short_name(&self) -> &str {
        match self {
            Place::District(d) => &d.short_name,
            Place::Abroad(a) => &a.name_vi,
        }
    }
}

impl<'a> Generator<'a> {
    fn next_serial(&mut self, kind: SiteKind) -> usize {
        let n = self.serial.entry(kind.code_prefix()).or_insert(0);
        *n += 1;
        *n
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.rng.random_range(lo..hi)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn offset(&mut self, from: Point, min_m: f64, max_m: f64) -> Point {
        let angle = self.uniform(0.0, std::f64::consts::TAU);
        let dist = self.uniform(min_m, max_m);
        Point::new(from.x() + dist * angle.cos(), from.y() + dist * angle.sin())
    }

    /// A point on the border at a uniformly random distance along it.
    fn border_point_at(&self, mut s: f64) -> Point {
        for (line, len) in self.ctx.border.iter().zip(&self.border_len) {
            if s <= *len {
                return interpolate(line, s);
            }
            s -= len;
        }
        let last = self.ctx.border.last().expect("border loaded");
        interpolate(last, line_length(last))
    }

    fn total_border(&self) -> f64 {
        self.border_len.iter().sum()
    }

    fn distance_to_border(&self, p: &Point) -> f64 {
        self.ctx
            .border
            .iter()
            .map(|l| Euclidean.distance(p, l))
            .fold(f64::INFINITY, f64::min)
    }

    fn district_of(&self, p: &Point) -> Option<&'a District> {
        self.ctx
            .districts
            .iter()
            .find(|d| d.bbox_contains(p) && d.geom.contains(p))
    }

    /// A point inside the province, within `[min_m, max_m]` of the border.
    fn near_border(&mut self, min_m: f64, max_m: f64) -> Point {
        let total = self.total_border();
        loop {
            let s = self.uniform(0.0, total);
            let on_line = self.border_point_at(s);
            let p = self.offset(on_line, min_m, max_m);
            if self.ctx.province.contains(&p) {
                let d = self.distance_to_border(&p);
                if d >= min_m * 0.5 && d <= max_m {
                    return p;
                }
            }
        }
    }

    fn in_rect(&mut self, rect: &Rect) -> Point {
        let x = self.uniform(rect.min().x, rect.max().x);
        let y = self.uniform(rect.min().y, rect.max().y);
        Point::new(x, y)
    }

    /// A shape of the given kind anywhere inside `area`, made by `make` around a centre.
    fn inside(
        &mut self,
        area: &MultiPolygon,
        bbox: &Rect,
        mut make: impl FnMut(&mut Self, Point) -> Shape,
    ) -> Shape {
        loop {
            let centre = self.in_rect(bbox);
            if !area.contains(&centre) {
                continue;
            }
            let shape = make(self, centre);
            if shape_within(&shape, area) {
                return shape;
            }
        }
    }

    fn star(&mut self, centre: Point, r_min: f64, r_max: f64) -> Polygon {
        let n = self.rng.random_range(5..10);
        let base = self.uniform(0.0, std::f64::consts::TAU);
        let coords: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                // Increasing angles: a simple, counter-clockwise ring.
                let angle =
                    base + std::f64::consts::TAU * (i as f64 + self.uniform(-0.3, 0.3)) / n as f64;
                let r = self.uniform(r_min, r_max);
                (centre.x() + r * angle.cos(), centre.y() + r * angle.sin())
            })
            .collect();
        let mut ring = coords.clone();
        ring.push(coords[0]);
        Polygon::new(LineString::from(ring), vec![])
    }

    fn road(&mut self, start: Point) -> LineString {
        let segments = self.rng.random_range(3..9);
        let mut heading = self.uniform(0.0, std::f64::consts::TAU);
        let mut points = vec![(start.x(), start.y())];
        let (mut x, mut y) = (start.x(), start.y());
        for _ in 0..segments {
            heading += self.uniform(-0.6, 0.6);
            let len = self.uniform(600.0, 2_200.0);
            x += len * heading.cos();
            y += len * heading.sin();
            points.push((x, y));
        }
        LineString::from(points)
    }

    fn militia_pair(&mut self) -> (DemoSite, DemoSite) {
        let post = self.near_border(300.0, 4_000.0);
        let district = self.district_of(&post);
        let residence = loop {
            let centre = self.offset(post, 350.0, 800.0);
            let poly = self.star(centre, 80.0, 220.0);
            if poly.contains(&post) {
                continue;
            }
            let shape = Shape::Polygon(poly);
            if shape_within(&shape, &self.ctx.province) {
                break shape;
            }
        };
        let place = district.map(Place::District);
        let post_site = self.finish(
            SiteKind::MilitiaPostCombatWork,
            Some(Shape::Point(post)),
            place,
        );
        let place = district.map(Place::District);
        let serial = post_site.code.rsplit('-').next().unwrap_or("0").to_string();
        let mut residence_site =
            self.finish(SiteKind::MilitiaResidentialPoint, Some(residence), place);
        residence_site.name = format!(
            "Điểm dân cư liền kề chốt số {}",
            serial.trim_start_matches('0')
        );
        residence_site.name_en = format!(
            "Residential point beside post {}",
            serial.trim_start_matches('0')
        );
        (post_site, residence_site)
    }

    fn border_marker(&mut self, index: usize, count: usize) -> DemoSite {
        // Evenly spread with a little jitter, each exactly on the line.
        let step = self.total_border() / count as f64;
        let s = (index as f64 + 0.5 + self.uniform(-0.3, 0.3)) * step;
        let p = self.border_point_at(s);
        let place = self.nearest_district(&p).map(Place::District);
        self.finish(SiteKind::BorderMarker, Some(Shape::Point(p)), place)
    }

    fn nearest_district(&self, p: &Point) -> Option<&'a District> {
        self.district_of(p).or_else(|| {
            self.ctx
                .districts
                .iter()
                .filter(|d| d.borders_cambodia)
                .min_by(|a, b| {
                    Euclidean
                        .distance(p, &a.geom)
                        .total_cmp(&Euclidean.distance(p, &b.geom))
                })
        })
    }

    fn site(&mut self, kind: SiteKind) -> DemoSite {
        let ctx = self.ctx;
        let (shape, place) = match kind {
            SiteKind::BorderGuardCombatWork => {
                let p = self.near_border(500.0, BORDER_BAND_M);
                (Shape::Point(p), self.district_of(&p).map(Place::District))
            }
            SiteKind::DistrictCommandPost
            | SiteKind::LogisticsCoreWork
            | SiteKind::Warehouse
            | SiteKind::Workshop
            | SiteKind::Barracks
            | SiteKind::GratitudeHouse => {
                let district = &ctx.districts[self.rng.random_range(0..ctx.districts.len())];
                let polygon_share = match kind {
                    SiteKind::DistrictCommandPost
                    | SiteKind::Barracks
                    | SiteKind::LogisticsCoreWork => 0.5,
                    SiteKind::Warehouse => 0.4,
                    _ => 0.0,
                };
                let as_polygon = self.chance(polygon_share);
                let shape = loop {
                    let p = self.offset(district.centre, 150.0, 6_000.0);
                    if !district.geom.contains(&p) {
                        continue;
                    }
                    let shape = if as_polygon {
                        Shape::Polygon(self.star(p, 60.0, 250.0))
                    } else {
                        Shape::Point(p)
                    };
                    if shape_within(&shape, &district.geom) {
                        break shape;
                    }
                };
                (shape, Some(Place::District(district)))
            }
            SiteKind::ProvincialCommandPost => {
                // The rear base: deep inside the province, far from the border.
                let shape = loop {
                    let shape = self.inside(&ctx.province, &ctx.province_bbox, |g, c| {
                        Shape::Polygon(g.star(c, 300.0, 800.0))
                    });
                    if self.distance_to_border(&representative(&shape)) > 15_000.0 {
                        break shape;
                    }
                };
                let place = self
                    .district_of(&representative(&shape))
                    .map(Place::District);
                (shape, place)
            }
            SiteKind::StrongpointCluster | SiteKind::DefenceLand => {
                let (r_min, r_max) = if kind == SiteKind::StrongpointCluster {
                    (300.0, 1_200.0)
                } else {
                    (120.0, 600.0)
                };
                let shape = self.inside(&ctx.province, &ctx.province_bbox, |g, c| {
                    Shape::Polygon(g.star(c, r_min, r_max))
                });
                let place = self
                    .district_of(&representative(&shape))
                    .map(Place::District);
                (shape, place)
            }
            SiteKind::MobilityRoad => {
                let shape = self.inside(&ctx.province, &ctx.province_bbox, |g, c| {
                    Shape::Line(g.road(c))
                });
                let place = self
                    .district_of(&representative(&shape))
                    .map(Place::District);
                (shape, place)
            }
            SiteKind::RemainsSearchZone => {
                if self.chance(0.4) {
                    self.zone_in_cambodia()
                } else {
                    let shape = self.inside(&ctx.province, &ctx.province_bbox, |g, c| {
                        Shape::Polygon(g.star(c, 400.0, 2_000.0))
                    });
                    let place = self
                        .district_of(&representative(&shape))
                        .map(Place::District);
                    (shape, place)
                }
            }
            SiteKind::MilitiaPostCombatWork
            | SiteKind::MilitiaResidentialPoint
            | SiteKind::BorderMarker => unreachable_kind(kind),
            SiteKind::CommandAutomation | SiteKind::Procurement => return self.investment(kind),
        };
        self.finish(kind, Some(shape), place)
    }

    /// An investment without a place on the map: command automation for a district's
    /// command post (the link to one is made when the demo is loaded,
    /// `sql/demo/investments.sql`) or for the province's, and province-wide procurement.
    fn investment(&mut self, kind: SiteKind) -> DemoSite {
        let ctx = self.ctx;
        let place = (kind == SiteKind::CommandAutomation && self.chance(0.8)).then(|| {
            Place::District(&ctx.districts[self.rng.random_range(0..ctx.districts.len())])
        });
        self.finish(kind, None, place)
    }

    /// A search zone across the border, in one of the adjacent Cambodian provinces,
    /// clear of Vietnamese territory.
    fn zone_in_cambodia(&mut self) -> (Shape, Option<Place<'a>>) {
        let ctx = self.ctx;
        let total = self.total_border();
        loop {
            let s = self.uniform(0.0, total);
            let on_line = self.border_point_at(s);
            let centre = self.offset(on_line, 3_000.0, 25_000.0);
            let Some(area) = ctx.cambodia.iter().find(|a| a.geom.contains(&centre)) else {
                continue;
            };
            let poly = self.star(centre, 400.0, 2_000.0);
            if ctx.province.intersects(&poly) {
                continue;
            }
            let shape = Shape::Polygon(poly);
            if shape_within(&shape, &area.geom) {
                return (shape, Some(Place::Abroad(area)));
            }
        }
    }

    /// Code, names, schedule, history and budget for a placed shape.
    fn finish(
        &mut self,
        kind: SiteKind,
        shape: Option<Shape>,
        place: Option<Place<'_>>,
    ) -> DemoSite {
        let serial = self.next_serial(kind);
        let abbr = place
            .as_ref()
            .map(|p| p.abbr().to_string())
            .unwrap_or_else(|| "TNH".into());
        let short = place
            .as_ref()
            .map(|p| p.short_name().to_string())
            .unwrap_or_else(|| "Tây Ninh".into());
        let district_name = match &place {
            Some(Place::District(d)) => lower_first(&d.name),
            _ => "tỉnh Tây Ninh".to_string(),
        };
        let code = format!("{}-{}-{:04}", kind.code_prefix(), abbr, serial);
        let category = self.category(kind);
        let (name, name_en) = match category {
            Some(c) => investment_names(c, serial, &short, place.is_some()),
            None => self.names(kind, serial, &short),
        };
        let area_ha = match &shape {
            Some(Shape::Polygon(p)) => p.unsigned_area() / 10_000.0,
            _ => 0.0,
        };
        let ewkt = shape.as_ref().map(|s| self.ewkt(s)).unwrap_or_default();
        let programme = match kind {
            SiteKind::MilitiaPostCombatWork | SiteKind::MilitiaResidentialPoint
                if self.chance(0.6) =>
            {
                Programme::Mr7Roadmap
            }
            _ if self.chance(0.18) => Programme::Kvpt2017,
            _ => Programme::Kvpt2021,
        };
        let unit = responsible_unit(kind, &district_name);
        let classification = self.classification(kind);
        let mut site = DemoSite {
            code,
            name,
            name_en,
            kind,
            ewkt,
            programme,
            phase: None,
            responsible_unit: unit,
            status: SiteStatus::Planned,
            progress_pct: 0,
            planned_start: directive_date(),
            planned_finish: directive_date(),
            actual_start: None,
            actual_finish: None,
            classification,
            history: vec![],
            budget: vec![],
            zone: None,
            category,
        };
        self.schedule(&mut site);
        self.budget(&mut site);
        if kind == SiteKind::RemainsSearchZone {
            site.zone = Some(self.zone(&site, area_ha));
        }
        site
    }

    fn names(&mut self, kind: SiteKind, serial: usize, short: &str) -> (String, String) {
        const WAREHOUSES: &[(&str, &str)] = &[
            ("vũ khí", "weapons"),
            ("đạn dược", "ammunition"),
            ("quân trang", "uniforms"),
            ("vật tư kỹ thuật", "technical supplies"),
            ("xăng dầu", "fuel"),
        ];
        const HOUSES: &[(&str, &str)] = &[
            ("Nhà tình nghĩa", "Gratitude house"),
            ("Nhà đồng đội", "Comrade house"),
        ];
        match kind {
            SiteKind::DistrictCommandPost => (
                format!("Sở chỉ huy {short} – hạng mục {serial}"),
                format!("{short} command post – item {serial}"),
            ),
            SiteKind::ProvincialCommandPost => (
                format!("Sở chỉ huy thống nhất tỉnh trong căn cứ hậu phương – khu {serial}"),
                format!("Unified provincial command post, rear base – area {serial}"),
            ),
            SiteKind::StrongpointCluster => (
                format!("Cụm điểm tựa số {serial} ({short})"),
                format!("Strongpoint cluster {serial} ({short})"),
            ),
            SiteKind::LogisticsCoreWork => (
                format!("Công trình nhân cốt căn cứ HC-KT số {serial} ({short})"),
                format!("Logistics base core work {serial} ({short})"),
            ),
            SiteKind::MilitiaPostCombatWork => (
                format!("Chốt dân quân thường trực biên giới số {serial} ({short})"),
                format!("Border militia post {serial} ({short})"),
            ),
            SiteKind::MilitiaResidentialPoint => (
                format!("Điểm dân cư liền kề chốt số {serial}"),
                format!("Residential point beside post {serial}"),
            ),
            SiteKind::BorderGuardCombatWork => (
                format!("Công trình chiến đấu Đồn Biên phòng số {serial} ({short})"),
                format!("Border Guard station combat work {serial} ({short})"),
            ),
            SiteKind::Warehouse => {
                let (vi, en) = WAREHOUSES[self.rng.random_range(0..WAREHOUSES.len())];
                (
                    format!("Kho {vi} số {serial} ({short})"),
                    format!("{en} depot {serial} ({short})"),
                )
            }
            SiteKind::Workshop => (
                format!("Trạm sửa chữa kỹ thuật số {serial} ({short})"),
                format!("Technical repair station {serial} ({short})"),
            ),
            SiteKind::MobilityRoad => (
                format!("Đường cơ động số {serial} ({short})"),
                format!("Mobility road {serial} ({short})"),
            ),
            SiteKind::Barracks => (
                format!("Doanh trại đơn vị số {serial} ({short})"),
                format!("Unit barracks {serial} ({short})"),
            ),
            SiteKind::RemainsSearchZone => (
                format!("Khu vực tìm kiếm, quy tập hài cốt liệt sĩ số {serial} ({short})"),
                format!("Martyrs' remains search zone {serial} ({short})"),
            ),
            SiteKind::GratitudeHouse => {
                let (vi, en) = HOUSES[self.rng.random_range(0..HOUSES.len())];
                (
                    format!("{vi} số {serial} ({short})"),
                    format!("{en} {serial} ({short})"),
                )
            }
            SiteKind::DefenceLand => (
                format!("Đất quốc phòng khu {serial} ({short})"),
                format!("Defence land parcel {serial} ({short})"),
            ),
            SiteKind::BorderMarker => (
                format!("Mốc biên giới số {serial} (mô phỏng)"),
                format!("Border marker {serial} (simulated)"),
            ),
            // Named by their category (`investment_names`).
            SiteKind::CommandAutomation | SiteKind::Procurement => {
                use crate::i18n::Lang;
                (
                    format!("{} – gói {serial}", kind.label(Lang::Vi)),
                    format!("{} – package {serial}", kind.label(Lang::En)),
                )
            }
        }
    }

    /// An investment's category, of its kind; none for a work.
    fn category(&mut self, kind: SiteKind) -> Option<InvestmentCategory> {
        let of_kind: Vec<InvestmentCategory> = InvestmentCategory::ALL
            .iter()
            .copied()
            .filter(|c| c.kind() == kind)
            .collect();
        (!of_kind.is_empty()).then(|| of_kind[self.rng.random_range(0..of_kind.len())])
    }

    fn classification(&mut self, kind: SiteKind) -> Classification {
        use Classification::*;
        let choices: &[Classification] = match kind {
            SiteKind::BorderMarker | SiteKind::GratitudeHouse => &[Public],
            SiteKind::RemainsSearchZone => &[Public, Internal, Internal],
            SiteKind::MobilityRoad | SiteKind::Barracks | SiteKind::DefenceLand => {
                &[Internal, Internal, Confidential]
            }
            SiteKind::Workshop | SiteKind::MilitiaResidentialPoint => &[Internal, Confidential],
            SiteKind::StrongpointCluster
            | SiteKind::MilitiaPostCombatWork
            | SiteKind::BorderGuardCombatWork => &[Confidential, Confidential, Secret],
            SiteKind::DistrictCommandPost
            | SiteKind::ProvincialCommandPost
            | SiteKind::LogisticsCoreWork
            | SiteKind::Warehouse => &[Confidential, Secret, Secret],
            SiteKind::CommandAutomation => &[Confidential, Secret],
            SiteKind::Procurement => &[Internal, Internal, Confidential],
        };
        choices[self.rng.random_range(0..choices.len())]
    }

    /// Planned dates, then a simulated course of work through to the end of 2025
    /// recorded as the site's history; the site's state is where the course ends.
    fn schedule(&mut self, site: &mut DemoSite) {
        let (start, months) = match site.programme {
            Programme::Kvpt2017 => (
                date_between(&mut self.rng, 2018, 1, 2020, 6),
                self.rng.random_range(12..30),
            ),
            Programme::Kvpt2021 | Programme::Mr7Roadmap => (
                date_between(&mut self.rng, 2021, 1, 2025, 9),
                self.rng.random_range(10..42),
            ),
        };
        let finish = start
            .checked_add_months(Months::new(months))
            .unwrap_or(start);
        site.planned_start = start;
        site.planned_finish = finish;
        site.phase = Some(match start.year() {
            ..=2020 => 1,
            2021 | 2022 => 1,
            2023 | 2024 => 2,
            _ => 3,
        });

        let end = programme_end();
        // A quarter of the works run late: slower than planned or starting late.
        let pace = if self.chance(0.25) {
            self.uniform(0.35, 0.8)
        } else {
            self.uniform(0.85, 1.3)
        };
        let delay_days = self.rng.random_range(0..240u64);
        let planned_days = (finish - start).num_days().max(30) as f64;
        let work_days = (planned_days / pace) as i64;
        let work_start = start + Days::new(delay_days);
        let design_start =
            (start - Days::new(self.rng.random_range(60..200u64))).max(directive_date());
        let created =
            (design_start - Days::new(self.rng.random_range(10..90u64))).max(directive_date());
        let fate = self.uniform(0.0, 1.0);
        let cancelled = fate < 0.02;
        let suspended = (0.02..0.06).contains(&fate);

        let mut history: Vec<HistoryRow> = Vec::new();

        // Works of the 2017–2020 scheme were already under way when tracking began.
        let carried_over = site.programme == Programme::Kvpt2017 && work_start < created;
        if carried_over {
            let pct = pct_at(created, work_start, work_days).min(95);
            push_history(
                &mut history,
                created,
                SiteStatus::UnderConstruction,
                pct,
                "Chuyển tiếp từ Đề án 2017–2020",
            );
        } else {
            push_history(
                &mut history,
                created,
                SiteStatus::Planned,
                0,
                "Đưa vào kế hoạch",
            );
            if design_start <= end {
                push_history(
                    &mut history,
                    design_start,
                    SiteStatus::Design,
                    0,
                    "Khảo sát, lập thiết kế",
                );
            }
        }
        if cancelled {
            let at = (design_start + Days::new(self.rng.random_range(30..300u64))).min(end);
            let pct = history.last().map_or(0, |h| h.new_pct);
            push_history(
                &mut history,
                at,
                SiteStatus::Cancelled,
                pct,
                "Dừng đầu tư theo chủ trương điều chỉnh",
            );
        } else if work_start <= end {
            if !carried_over {
                push_history(
                    &mut history,
                    work_start,
                    SiteStatus::UnderConstruction,
                    0,
                    "Khởi công",
                );
            }
            let stop_at = if suspended {
                self.uniform(0.2, 0.8)
            } else {
                2.0
            };
            let mut day = history.last().map_or(work_start, |h| h.date);
            loop {
                day = day + Days::new(self.rng.random_range(45..150u64));
                if day > end {
                    break;
                }
                let pct = pct_at(day, work_start, work_days);
                let last_pct = history.last().map_or(0, |h| h.new_pct);
                if f64::from(pct) / 100.0 >= stop_at {
                    push_history(
                        &mut history,
                        day,
                        SiteStatus::Suspended,
                        last_pct.max(pct.min(99)),
                        "Tạm dừng do vướng mặt bằng",
                    );
                    break;
                }
                if pct >= 100 {
                    push_history(
                        &mut history,
                        day,
                        SiteStatus::Completed,
                        100,
                        "Hoàn thành, nghiệm thu",
                    );
                    let handover = day + Days::new(self.rng.random_range(30..150u64));
                    if handover <= end {
                        push_history(
                            &mut history,
                            handover,
                            SiteStatus::HandedOver,
                            100,
                            "Bàn giao đưa vào sử dụng",
                        );
                    }
                    break;
                }
                if pct > last_pct {
                    push_history(
                        &mut history,
                        day,
                        SiteStatus::UnderConstruction,
                        pct,
                        "Cập nhật tiến độ thi công",
                    );
                }
            }
        }

        let last = history.last().expect("a first row is always pushed");
        site.status = last.new_status;
        site.progress_pct = last.new_pct;
        site.actual_start = history
            .iter()
            .find(|h| h.new_status == SiteStatus::UnderConstruction)
            .map(|h| if carried_over { work_start } else { h.date });
        site.actual_finish = history
            .iter()
            .find(|h| h.new_status == SiteStatus::Completed)
            .map(|h| h.date);
        site.history = history;
    }

    fn budget(&mut self, site: &mut DemoSite) {
        let (lo, hi): (f64, f64) = match site.kind {
            SiteKind::ProvincialCommandPost => (60_000.0, 150_000.0),
            SiteKind::DistrictCommandPost => (8_000.0, 40_000.0),
            SiteKind::LogisticsCoreWork => (5_000.0, 25_000.0),
            SiteKind::Warehouse => (4_000.0, 20_000.0),
            SiteKind::StrongpointCluster => (3_000.0, 15_000.0),
            SiteKind::Barracks => (3_000.0, 12_000.0),
            SiteKind::MobilityRoad => (4_000.0, 30_000.0),
            SiteKind::MilitiaResidentialPoint => (2_000.0, 8_000.0),
            SiteKind::MilitiaPostCombatWork => (1_500.0, 5_000.0),
            SiteKind::BorderGuardCombatWork => (1_000.0, 4_000.0),
            SiteKind::Workshop => (1_000.0, 6_000.0),
            SiteKind::DefenceLand => (500.0, 5_000.0),
            SiteKind::RemainsSearchZone => (200.0, 1_500.0),
            SiteKind::BorderMarker => (50.0, 200.0),
            SiteKind::GratitudeHouse => (60.0, 120.0),
            SiteKind::CommandAutomation => (2_000.0, 15_000.0),
            SiteKind::Procurement => (500.0, 8_000.0),
        };
        // Millions of đồng.
        let total = self.uniform(lo, hi);
        let primary = match site.kind {
            SiteKind::MilitiaPostCombatWork | SiteKind::MilitiaResidentialPoint => {
                FundingSource::MilitaryRegion
            }
            SiteKind::RemainsSearchZone
            | SiteKind::BorderMarker
            | SiteKind::BorderGuardCombatWork => FundingSource::Central,
            SiteKind::GratitudeHouse => FundingSource::Other,
            SiteKind::DistrictCommandPost | SiteKind::DefenceLand => FundingSource::District,
            _ => FundingSource::Provincial,
        };
        let mut sources = vec![(primary, 1.0)];
        if self.chance(0.4) {
            let second = FundingSource::ALL[self.rng.random_range(0..FundingSource::ALL.len())];
            if second != primary {
                let share = self.uniform(0.2, 0.4);
                sources = vec![(primary, 1.0 - share), (second, share)];
            }
        }
        // The 2017–2020 scheme's works were funded from the year they started.
        let first_year = site.planned_start.year().clamp(2017, 2025);
        let last_year = site.planned_finish.year().clamp(first_year, 2025);
        let years: Vec<i32> = (first_year..=last_year).collect();
        let done = site.status.is_done();
        let ahead = self.chance(0.03); // money ahead of the works: flagged by dashboards
        let mut rows = Vec::new();
        for &year in &years {
            let year_end = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date");
            // Before tracking began (a 2017–2020 work's early years), the work went as planned.
            let planned_then = || {
                let (start, finish) = (site.planned_start, site.planned_finish);
                let span = (finish - start).num_days().max(1) as f64;
                let done = (year_end - start).num_days() as f64 / span;
                (done.clamp(0.0, 1.0) * 100.0) as i16
            };
            let pct_then = site
                .history
                .iter()
                .take_while(|h| h.date <= year_end)
                .last()
                .map_or_else(planned_then, |h| h.new_pct);
            for &(source, share) in &sources {
                let estimate = total * share / years.len() as f64;
                let allocated = estimate * self.uniform(0.85, 1.08);
                let rate = if ahead {
                    1.0
                } else if site.status == SiteStatus::Cancelled {
                    0.0
                } else {
                    (f64::from(pct_then) / 100.0 * self.uniform(0.8, 1.15)).min(1.0)
                };
                let disbursed = allocated * rate;
                let settled = if done {
                    disbursed * self.uniform(0.92, 1.0)
                } else {
                    0.0
                };
                let million = |m: f64| (m.floor() as i64) * 1_000_000;
                rows.push(BudgetRow {
                    year: year as i16,
                    source,
                    estimate_vnd: million(estimate),
                    allocated_vnd: million(allocated),
                    disbursed_vnd: million(disbursed).min(million(allocated)),
                    settled_vnd: million(settled).min(million(disbursed)),
                });
            }
        }
        site.budget = rows;
    }

    fn zone(&mut self, site: &DemoSite, area_ha: f64) -> ZoneRow {
        let expected = self.rng.random_range(5..150);
        let share = f64::from(site.progress_pct) / 100.0;
        let found = ((f64::from(expected) * share * self.uniform(0.3, 1.1)).round() as i32).max(0);
        ZoneRow {
            remains_expected: expected,
            remains_found: found,
            area_concluded_ha: (area_ha * share * 100.0).round() / 100.0,
            map_drawn: site.status.is_done(),
            concluded_on: site.actual_finish,
            unit_in_charge: "Đội tìm kiếm, quy tập hài cốt liệt sĩ – Bộ CHQS tỉnh".into(),
        }
    }

    fn ewkt(&self, shape: &Shape) -> String {
        let f = &self.ctx.frame;
        let coords = |ls: &LineString| {
            ls.coords()
                .map(|c| {
                    let (lon, lat) = f.to_lonlat(c.x, c.y);
                    format!("{lon:.7} {lat:.7}")
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        match shape {
            Shape::Point(p) => {
                let (lon, lat) = f.to_lonlat(p.x(), p.y());
                format!("SRID=4326;POINT({lon:.7} {lat:.7})")
            }
            Shape::Line(l) => format!("SRID=4326;LINESTRING({})", coords(l)),
            Shape::Polygon(p) => format!("SRID=4326;POLYGON(({}))", coords(p.exterior())),
        }
    }
}

impl District {
    fn bbox_contains(&self, p: &Point) -> bool {
        let (min, max) = (self.bbox.min(), self.bbox.max());
        p.x() >= min.x && p.x() <= max.x && p.y() >= min.y && p.y() <= max.y
    }
}

fn unreachable_kind(kind: SiteKind) -> ! {
    panic!("{kind:?} is generated in pairs or along the border, not by Generator::site")
}

fn shape_within(shape: &Shape, area: &MultiPolygon) -> bool {
    // Fast path: a shape whose every vertex lies closer to an inner point than that
    // point lies to the area's boundary is inside. Most demo shapes are small next
    // to a district, so the full (costly) topological test is rarely needed.
    let centre = representative(shape);
    if area.contains(&centre) {
        let reach = shape_coords(shape)
            .map(|c| ((c.x - centre.x()).powi(2) + (c.y - centre.y()).powi(2)).sqrt())
            .fold(0.0, f64::max);
        if distance_to_boundary(area, &centre) > reach {
            return true;
        }
    }
    match shape {
        Shape::Point(p) => area.contains(p),
        Shape::Line(l) => area.contains(l),
        Shape::Polygon(p) => area.contains(p),
    }
}

fn shape_coords(shape: &Shape) -> Box<dyn Iterator<Item = geo::Coord> + '_> {
    match shape {
        Shape::Point(p) => Box::new(std::iter::once(p.0)),
        Shape::Line(l) => Box::new(l.coords().copied()),
        Shape::Polygon(p) => Box::new(p.exterior().coords().copied()),
    }
}

fn distance_to_boundary(area: &MultiPolygon, p: &Point) -> f64 {
    area.0
        .iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .map(|ring| Euclidean.distance(p, ring))
        .fold(f64::INFINITY, f64::min)
}

fn representative(shape: &Shape) -> Point {
    match shape {
        Shape::Point(p) => *p,
        Shape::Line(l) => l
            .points()
            .nth(l.0.len() / 2)
            .unwrap_or_else(|| Point::new(0.0, 0.0)),
        Shape::Polygon(p) => {
            let ring = p.exterior();
            let n = (ring.0.len() - 1).max(1) as f64;
            let (sx, sy) = ring
                .0
                .iter()
                .take(ring.0.len() - 1)
                .fold((0.0, 0.0), |a, c| (a.0 + c.x, a.1 + c.y));
            Point::new(sx / n, sy / n)
        }
    }
}

fn line_length(line: &LineString) -> f64 {
    line.lines()
        .map(|seg| (seg.dx().powi(2) + seg.dy().powi(2)).sqrt())
        .sum()
}

fn interpolate(line: &LineString, mut s: f64) -> Point {
    for seg in line.lines() {
        let len = (seg.dx().powi(2) + seg.dy().powi(2)).sqrt();
        if s <= len && len > 0.0 {
            let t = s / len;
            return Point::new(seg.start.x + t * seg.dx(), seg.start.y + t * seg.dy());
        }
        s -= len;
    }
    line.0
        .last()
        .map_or_else(|| Point::new(0.0, 0.0), |c| Point::from(*c))
}

/// Appends a history row that starts from the previous one, never earlier than it.
fn push_history(
    history: &mut Vec<HistoryRow>,
    date: NaiveDate,
    status: SiteStatus,
    pct: i16,
    note: &str,
) {
    let old = history.last().map(|h| (h.new_status, h.new_pct));
    let date = history.last().map_or(date, |h| date.max(h.date));
    history.push(HistoryRow {
        date,
        old,
        new_status: status,
        new_pct: pct,
        note: note.to_string(),
    });
}

/// Percent complete `day` into a course of `work_days` that began at `start`.
fn pct_at(day: NaiveDate, start: NaiveDate, work_days: i64) -> i16 {
    let elapsed = (day - start).num_days().max(0) as f64;
    ((elapsed / work_days.max(1) as f64) * 100.0)
        .floor()
        .clamp(0.0, 100.0) as i16
}

fn date_between(rng: &mut ChaCha8Rng, y0: i32, m0: u32, y1: i32, m1: u32) -> NaiveDate {
    let from = NaiveDate::from_ymd_opt(y0, m0, 1).expect("valid date");
    let to = NaiveDate::from_ymd_opt(y1, m1, 1).expect("valid date");
    let span = (to - from).num_days().max(1) as u64;
    from + Days::new(rng.random_range(0..span))
}

fn responsible_unit(kind: SiteKind, district: &str) -> String {
    match kind {
        SiteKind::BorderGuardCombatWork | SiteKind::BorderMarker => {
            "Bộ Chỉ huy Bộ đội Biên phòng tỉnh".into()
        }
        SiteKind::ProvincialCommandPost | SiteKind::DefenceLand | SiteKind::StrongpointCluster => {
            "Bộ Chỉ huy Quân sự tỉnh Tây Ninh".into()
        }
        SiteKind::LogisticsCoreWork
        | SiteKind::Warehouse
        | SiteKind::Workshop
        | SiteKind::Barracks
        | SiteKind::Procurement => "Phòng Hậu cần – Kỹ thuật, Bộ CHQS tỉnh".into(),
        SiteKind::CommandAutomation if district.starts_with("tỉnh") => {
            "Phòng Tham mưu, Bộ CHQS tỉnh".into()
        }
        SiteKind::CommandAutomation => format!("Ban CHQS {district}"),
        SiteKind::RemainsSearchZone | SiteKind::GratitudeHouse => {
            "Phòng Chính trị, Bộ CHQS tỉnh".into()
        }
        SiteKind::DistrictCommandPost
        | SiteKind::MilitiaPostCombatWork
        | SiteKind::MilitiaResidentialPoint
        | SiteKind::MobilityRoad => format!("Ban CHQS {district}"),
    }
}

/// An investment's names: its category, and the command post it equips (command
/// automation of a district's or the province's) or its package (procurement).
fn investment_names(
    category: InvestmentCategory,
    serial: usize,
    short: &str,
    in_district: bool,
) -> (String, String) {
    use crate::i18n::Lang;
    let (vi, en) = (category.label(Lang::Vi), category.label(Lang::En));
    match category.kind() {
        SiteKind::CommandAutomation if in_district => (
            format!("{vi} – Sở chỉ huy {short}, gói {serial}"),
            format!("{en} – {short} command post, package {serial}"),
        ),
        SiteKind::CommandAutomation => (
            format!("{vi} – Sở chỉ huy tỉnh, gói {serial}"),
            format!("{en} – provincial command post, package {serial}"),
        ),
        _ => (
            format!("{vi} – gói mua sắm {serial}"),
            format!("{en} – procurement package {serial}"),
        ),
    }
}

/// "Huyện Tân Biên" → "huyện Tân Biên".
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_counts_add_up_and_pair_posts_with_residences() {
        for total in [18, 19, 100, 2000, 100_000] {
            let counts = kind_counts(total);
            assert_eq!(
                counts.iter().map(|c| c.1).sum::<usize>(),
                total,
                "total {total}"
            );
            assert_eq!(counts[0].1, counts[1].1);
            assert!(
                counts.iter().all(|c| c.1 >= 1),
                "every kind present at {total}"
            );
        }
        assert_eq!(kind_counts(3).iter().map(|c| c.1).sum::<usize>(), 3);
    }

    #[test]
    fn percent_grows_with_time_and_stops_at_100() {
        let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
        assert_eq!(pct_at(start, start, 100), 0);
        assert_eq!(pct_at(start + Days::new(50), start, 100), 50);
        assert_eq!(pct_at(start + Days::new(500), start, 100), 100);
    }
}
