//! Statuses, programmes, classification levels, funding sources, and the land-use plan's
//! uses and legal statuses.

use crate::i18n::Lang;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $( $variant:ident => $code:literal, $vi:literal, $en:literal; )+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value stored in the database.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, Lang::Vi) => $vi, ($name::$variant, Lang::En) => $en,)+
                }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

vocabulary! {
    /// Where a work stands. The first five are its normal course; the last two end it early.
    SiteStatus {
        Planned => "planned", "Kế hoạch", "Planned";
        Design => "design", "Thiết kế", "Design";
        UnderConstruction => "under_construction", "Đang thi công", "Under construction";
        Completed => "completed", "Hoàn thành", "Completed";
        HandedOver => "handed_over", "Đã bàn giao", "Handed over";
        Suspended => "suspended", "Tạm dừng", "Suspended";
        Cancelled => "cancelled", "Hủy bỏ", "Cancelled";
    }
}

impl SiteStatus {
    /// The property a cluster of works counts this status in ("n_planned", …).
    pub fn cluster_field(self) -> &'static str {
        match self {
            SiteStatus::Planned => "n_planned",
            SiteStatus::Design => "n_design",
            SiteStatus::UnderConstruction => "n_under_construction",
            SiteStatus::Completed => "n_completed",
            SiteStatus::HandedOver => "n_handed_over",
            SiteStatus::Suspended => "n_suspended",
            SiteStatus::Cancelled => "n_cancelled",
        }
    }
}

impl Classification {
    /// Whether a work of this classification may be given `to`: anyone who may write it may
    /// keep or raise it; lowering it shows it to more people, which is an administrator's
    /// decision (`declassify`). Every write path asks this.
    pub fn may_become(self, to: Classification, declassify: bool) -> bool {
        to >= self || declassify
    }

    /// The state-secret mark (độ mật) a document holding works of this level carries:
    /// "MẬT" for confidential, "TỐI MẬT" for secret; none below.
    pub fn mark(self) -> Option<&'static str> {
        match self {
            Self::Confidential => Some("MẬT"),
            Self::Secret => Some("TỐI MẬT"),
            Self::Public | Self::Internal => None,
        }
    }
}

vocabulary! {
    /// Who may see a work; ordered from least to most restricted.
    Classification {
        Public => "public", "Công khai", "Public";
        Internal => "internal", "Nội bộ", "Internal";
        Confidential => "confidential", "Mật", "Confidential";
        Secret => "secret", "Tối mật", "Secret";
    }
}

vocabulary! {
    /// The scheme a work belongs to.
    Programme {
        Kvpt2017 => "kvpt_2017_2020", "Đề án KVPT 2017–2020", "Defence-zone scheme 2017–2020";
        Kvpt2021 => "kvpt_2021_2025", "Đề án KVPT 2021–2025", "Defence-zone scheme 2021–2025";
        Mr7Roadmap => "mr7_roadmap", "Lộ trình Đề án Quân khu 7", "Military Region 7 roadmap";
    }
}

vocabulary! {
    /// Where the money comes from.
    FundingSource {
        Central => "central", "Ngân sách trung ương", "Central budget";
        MilitaryRegion => "military_region", "Quân khu", "Military Region";
        Provincial => "provincial", "Ngân sách tỉnh", "Provincial budget";
        District => "district", "Ngân sách huyện", "District budget";
        Other => "other", "Nguồn khác", "Other sources";
    }
}

vocabulary! {
    /// What defence land is used for, now or as planned (the land-use plan 2021–2030).
    LandUse {
        CommandPost => "command_post", "Trụ sở chỉ huy", "Command post";
        Barracks => "barracks", "Doanh trại, căn cứ quân sự", "Barracks and bases";
        DefenceWorks => "defence_works", "Công trình phòng thủ, trận địa", "Defence works and positions";
        Training => "training", "Thao trường, trường bắn", "Training and firing ranges";
        Warehouse => "warehouse", "Kho tàng quân sự", "Military warehouses";
        BorderPost => "border_post", "Đồn, trạm biên phòng", "Border posts";
        Agriculture => "agriculture", "Đất nông nghiệp", "Agriculture";
        Forest => "forest", "Đất rừng", "Forest";
        Residential => "residential", "Đất ở", "Residential";
        Unused => "unused", "Đất chưa sử dụng", "Unused";
        Other => "other", "Khác", "Other";
    }
}

vocabulary! {
    /// Where a parcel's land-use right stands.
    LandLegalStatus {
        Certified => "certified", "Đã cấp giấy chứng nhận", "Certificate issued";
        InProgress => "in_progress", "Đang làm thủ tục", "In progress";
        NoCertificate => "none", "Chưa có", "None";
    }
}

/// The land-use plan's period, and its two 5-year periods.
pub const LAND_PLAN_PERIOD: &str = "2021-2030";
pub const LAND_FIVE_YEARS: [&str; 2] = ["2021-2025", "2026-2030"];

vocabulary! {
    /// What an investment without a place on the map buys (issue 24 §4): the first three
    /// are the directive's §3 (command automation), the others its §8 (procurement).
    InvestmentCategory {
        AutomationEquipment => "automation_equipment", "Trang thiết bị tự động hóa chỉ huy", "Command automation equipment";
        Lan => "lan", "Mạng LAN", "LAN";
        SharedSoftware => "shared_software", "Phần mềm dùng chung", "Shared software";
        Equipment => "equipment", "Trang thiết bị", "Equipment";
        Vehicles => "vehicles", "Phương tiện cơ giới", "Vehicles";
        Boats => "boats", "Tàu, xuồng", "Boats";
        FloodRescue => "flood_rescue", "Trang bị phòng chống lụt bão, cứu hộ cứu nạn", "Flood and rescue gear";
    }
}

impl InvestmentCategory {
    /// The kind of investment this category belongs to.
    pub fn kind(self) -> crate::domain::SiteKind {
        use crate::domain::SiteKind;
        match self {
            Self::AutomationEquipment | Self::Lan | Self::SharedSoftware => {
                SiteKind::CommandAutomation
            }
            Self::Equipment | Self::Vehicles | Self::Boats | Self::FloodRescue => {
                SiteKind::Procurement
            }
        }
    }
}

vocabulary! {
    /// What an account may do.
    UserRole {
        Viewer => "viewer", "Xem", "Viewer";
        Engineer => "engineer", "Kỹ sư cập nhật tiến độ", "Engineer";
        BudgetOfficer => "budget_officer", "Cán bộ ngân sách", "Budget officer";
        Reviewer => "reviewer", "Cán bộ duyệt cập nhật", "Reviewer";
        Admin => "admin", "Quản trị", "Administrator";
    }
}

impl SiteStatus {
    /// The status's colour on the map and in the legend (readable for red–green colour
    /// blindness: hue and lightness both change along the normal course).
    pub fn colour(self) -> &'static str {
        match self {
            Self::Planned => "#9aa5ad",
            Self::Design => "#4f8fd6",
            Self::UnderConstruction => "#f08c00",
            Self::Completed => "#2f9e44",
            Self::HandedOver => "#145a32",
            Self::Suspended => "#d6336c",
            Self::Cancelled => "#495057",
        }
    }

    /// Statuses that require 100% complete.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Completed | Self::HandedOver)
    }
}
