//! The fifteen kinds of work of DOMAIN.md and the geometry each may take, and the two
//! kinds of investment without a place on the map (the directive's §3 and §8).

use crate::i18n::Lang;

/// Whether `text` has the shape of a work's code (`CHOT-TBI-0012`): letters and digits
/// in two or more parts joined by dashes.
pub fn looks_like_code(text: &str) -> bool {
    let t = text.trim();
    let mut parts = t.split('-');
    let first = parts.next().unwrap_or("");
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric());
    ok(first) && t.contains('-') && parts.all(ok)
}

/// Point, line or polygon (multi-lines and multi-polygons count as lines and polygons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeometryFamily {
    Point,
    Line,
    Polygon,
}

impl GeometryFamily {
    pub fn code(self) -> &'static str {
        match self {
            Self::Point => "point",
            Self::Line => "line",
            Self::Polygon => "polygon",
        }
    }
}

/// How kinds are grouped into map layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerGroup {
    DefenceWorks,
    BorderMilitia,
    Logistics,
    SearchZones,
    BorderMarkers,
    Land,
}

impl LayerGroup {
    pub const ALL: &'static [LayerGroup] = &[
        Self::DefenceWorks,
        Self::BorderMilitia,
        Self::Logistics,
        Self::SearchZones,
        Self::BorderMarkers,
        Self::Land,
    ];

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|g| g.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::DefenceWorks => "defence_works",
            Self::BorderMilitia => "border_militia",
            Self::Logistics => "logistics",
            Self::SearchZones => "search_zones",
            Self::BorderMarkers => "border_markers",
            Self::Land => "land",
        }
    }

    /// The lowest zoom its tiles are drawn at: below it a tile is empty (204).
    pub fn min_zoom(self) -> u8 {
        match self {
            Self::DefenceWorks | Self::SearchZones => 6,
            Self::BorderMilitia | Self::Logistics => 7,
            Self::BorderMarkers | Self::Land => 8,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (vi, en) = match self {
            Self::DefenceWorks => ("Công trình phòng thủ", "Defence works"),
            Self::BorderMilitia => (
                "Chốt dân quân, đồn biên phòng",
                "Border militia and guard posts",
            ),
            Self::Logistics => ("Hậu cần – kỹ thuật", "Logistics and technical"),
            Self::SearchZones => (
                "Tìm kiếm, quy tập hài cốt liệt sĩ",
                "Martyrs' remains search",
            ),
            Self::BorderMarkers => ("Mốc biên giới", "Border markers"),
            Self::Land => ("Đất quốc phòng", "Defence land"),
        };
        lang.pick(vi, en)
    }
}

macro_rules! kinds {
    ($( $variant:ident => $code:literal, $prefix:literal, $group:ident, [$($family:ident),*], $vi:literal, $en:literal; )+) => {
        /// A kind of defence work.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SiteKind { $($variant),+ }

        impl SiteKind {
            /// Every kind, in the order of DOMAIN.md's table.
            pub const ALL: &'static [SiteKind] = &[$(SiteKind::$variant),+];

            /// The code stored in the database.
            pub fn code(self) -> &'static str {
                match self { $(SiteKind::$variant => $code),+ }
            }

            /// The first part of a site code: CHOT-TBI-0012.
            pub fn code_prefix(self) -> &'static str {
                match self { $(SiteKind::$variant => $prefix),+ }
            }

            pub fn layer_group(self) -> LayerGroup {
                match self { $(SiteKind::$variant => LayerGroup::$group),+ }
            }

            /// The geometry families this kind accepts.
            pub fn families(self) -> &'static [GeometryFamily] {
                match self { $(SiteKind::$variant => &[$(GeometryFamily::$family),*]),+ }
            }

            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((SiteKind::$variant, Lang::Vi) => $vi, (SiteKind::$variant, Lang::En) => $en,)+
                }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(SiteKind::$variant),)+ _ => None }
            }
        }
    };
}

kinds! {
    DistrictCommandPost => "district_command_post", "SCH", DefenceWorks, [Point, Polygon],
        "Sở chỉ huy huyện, thị xã, thành phố", "District command post";
    ProvincialCommandPost => "provincial_command_post", "SCHT", DefenceWorks, [Polygon],
        "Sở chỉ huy thống nhất trong căn cứ hậu phương", "Unified provincial command post (rear base)";
    StrongpointCluster => "strongpoint_cluster", "CDT", DefenceWorks, [Polygon],
        "Cụm điểm tựa", "Strongpoint cluster";
    LogisticsCoreWork => "logistics_core_work", "HCKT", Logistics, [Point, Polygon],
        "Công trình nhân cốt trong căn cứ Hậu cần–Kỹ thuật", "Core work in the logistics–technical base";
    MilitiaPostCombatWork => "militia_post_combat_work", "CHOT", BorderMilitia, [Point],
        "Công trình chiến đấu chốt dân quân thường trực biên giới", "Combat work of a border militia post";
    MilitiaResidentialPoint => "militia_residential_point", "DDC", BorderMilitia, [Polygon],
        "Điểm dân cư liền kề chốt dân quân biên giới", "Residential point beside a border militia post";
    BorderGuardCombatWork => "border_guard_combat_work", "DBP", BorderMilitia, [Point],
        "Công trình chiến đấu ở Đồn Biên phòng", "Combat works at a Border Guard station";
    Warehouse => "warehouse", "KHO", Logistics, [Point, Polygon],
        "Kho tàng", "Warehouse / depot";
    Workshop => "workshop", "TX", Logistics, [Point],
        "Trạm, xưởng", "Technical station / workshop";
    MobilityRoad => "mobility_road", "DCD", DefenceWorks, [Line],
        "Đường cơ động", "Mobility road";
    Barracks => "barracks", "DT", Logistics, [Point, Polygon],
        "Doanh trại, công trình xây dựng cơ bản", "Barracks / basic construction";
    RemainsSearchZone => "remains_search_zone", "TKQT", SearchZones, [Polygon],
        "Khu vực tìm kiếm, quy tập hài cốt liệt sĩ", "Martyrs' remains search zone";
    GratitudeHouse => "gratitude_house", "NTN", SearchZones, [Point],
        "Nhà tình nghĩa, nhà đồng đội", "Gratitude / comrade house";
    DefenceLand => "defence_land", "DQP", Land, [Polygon],
        "Đất quốc phòng", "Defence land parcel";
    BorderMarker => "border_marker", "MOC", BorderMarkers, [Point],
        "Mốc biên giới", "Border marker";
    CommandAutomation => "command_automation", "TDH", DefenceWorks, [],
        "Tự động hóa chỉ huy, mạng LAN, phần mềm dùng chung", "Command automation, LAN and shared software";
    Procurement => "procurement", "MS", Logistics, [],
        "Mua sắm trang thiết bị, phương tiện", "Procurement of equipment and vehicles";
}

impl SiteKind {
    /// Whether its items have a place on the map: the works do; the investments of the
    /// directive's §3 and §8 (command automation, procurement) have none.
    pub fn is_placed(self) -> bool {
        !self.families().is_empty()
    }

    /// The kinds with a place on the map, in [`SiteKind::ALL`]'s order: what map layers,
    /// feature collections, GIS exports and imports offer.
    pub const PLACED: &'static [SiteKind] = &[
        SiteKind::DistrictCommandPost,
        SiteKind::ProvincialCommandPost,
        SiteKind::StrongpointCluster,
        SiteKind::LogisticsCoreWork,
        SiteKind::MilitiaPostCombatWork,
        SiteKind::MilitiaResidentialPoint,
        SiteKind::BorderGuardCombatWork,
        SiteKind::Warehouse,
        SiteKind::Workshop,
        SiteKind::MobilityRoad,
        SiteKind::Barracks,
        SiteKind::RemainsSearchZone,
        SiteKind::GratitudeHouse,
        SiteKind::DefenceLand,
        SiteKind::BorderMarker,
    ];

    /// The investments without a place on the map (issue 24 §4).
    pub const UNPLACED: &'static [SiteKind] = &[SiteKind::CommandAutomation, SiteKind::Procurement];
}
