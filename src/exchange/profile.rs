//! Partner profiles: which kinds, up to which classification, which fields, and how the
//! positions of sensitive kinds are coarsened. Every export names one.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::fields::{Field, FIELDS};
use crate::db::DbError;
use crate::domain::{Classification, SiteKind};

/// How the works of a profile's coarse kinds leave: as one point each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coarsening {
    None,
    /// A point on the work, snapped to a grid of this many metres (UTM zone 48N).
    Grid(u32),
    /// The centre of the work's district (or Cambodian province).
    District,
}

impl Coarsening {
    pub fn code(self) -> &'static str {
        match self {
            Coarsening::None => "none",
            Coarsening::Grid(_) => "grid",
            Coarsening::District => "district",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub kinds: Vec<SiteKind>,
    pub ceiling: Classification,
    /// In the order of [`FIELDS`], whatever order they were given in.
    pub fields: Vec<&'static Field>,
    pub coarse_kinds: Vec<SiteKind>,
    pub coarsening: Coarsening,
    pub version: i32,
    pub disabled: bool,
}

/// What an administrator typed, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub name: String,
    pub title: String,
    pub kinds: Vec<String>,
    pub ceiling: String,
    pub fields: Vec<String>,
    pub coarse_kinds: Vec<String>,
    pub coarsening: String,
    pub grid_m: Option<String>,
    pub disabled: bool,
}

/// A refused profile: which field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub field: &'static str,
    pub reason: String,
}

impl ProfileInput {
    /// The profile this describes, or the first thing wrong with it.
    pub fn check(&self) -> Result<Profile, ProfileError> {
        let err = |field: &'static str, reason: String| ProfileError { field, reason };
        let name = self.name.trim().to_string();
        let name_ok = (2..=40).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && !name.starts_with(['-', '_']);
        if !name_ok {
            return Err(err(
                "name",
                format!("'{name}': 2 to 40 lower-case letters, digits, '-' or '_' (for example bien-phong)"),
            ));
        }
        let title = self.title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(err("title", "give a title of 1 to 200 characters".into()));
        }
        let kinds = kinds_of("kinds", &self.kinds)?;
        if kinds.is_empty() {
            return Err(err("kinds", "allow at least one kind of work".into()));
        }
        let ceiling = Classification::from_code(self.ceiling.trim()).ok_or_else(|| {
            err(
                "ceiling",
                format!(
                    "'{}' is not a classification; use public, internal, confidential or secret",
                    self.ceiling
                ),
            )
        })?;
        let mut fields = Vec::new();
        for name in &self.fields {
            let field = Field::from_name(name.trim()).ok_or_else(|| {
                err(
                    "fields",
                    format!("no field '{name}'; fields are {}", field_names()),
                )
            })?;
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        if fields.is_empty() {
            return Err(err("fields", "allow at least one field".into()));
        }
        fields.sort_by_key(|f| FIELDS.iter().position(|g| g == *f));
        let coarse_kinds = kinds_of("coarse_kinds", &self.coarse_kinds)?;
        let grid = self
            .grid_m
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty());
        let coarsening = match self.coarsening.trim() {
            "" | "none" => Coarsening::None,
            "district" => Coarsening::District,
            "grid" => {
                let metres = grid
                    .and_then(|g| g.parse::<u32>().ok())
                    .filter(|m| (10..=100_000).contains(m))
                    .ok_or_else(|| {
                        err(
                            "grid_m",
                            "a grid needs its size: whole metres from 10 to 100000".into(),
                        )
                    })?;
                Coarsening::Grid(metres)
            }
            other => {
                return Err(err(
                    "coarsening",
                    format!("'{other}' is not a coarsening; use none, grid or district"),
                ))
            }
        };
        if coarsening == Coarsening::None && !coarse_kinds.is_empty() {
            return Err(err(
                "coarsening",
                "kinds to coarsen are chosen but no coarsening: choose grid or district".into(),
            ));
        }
        if coarsening != Coarsening::None && coarse_kinds.is_empty() {
            return Err(err(
                "coarse_kinds",
                "a coarsening is chosen but no kind to coarsen".into(),
            ));
        }
        Ok(Profile {
            name,
            title,
            kinds,
            ceiling,
            fields,
            coarse_kinds,
            coarsening,
            version: 0,
            disabled: self.disabled,
        })
    }
}

fn field_names() -> String {
    FIELDS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

fn kinds_of(field: &'static str, codes: &[String]) -> Result<Vec<SiteKind>, ProfileError> {
    let mut kinds = Vec::new();
    for code in codes {
        let kind = SiteKind::from_code(code.trim()).ok_or_else(|| ProfileError {
            field,
            reason: format!("no kind '{code}'"),
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort();
    Ok(kinds)
}

const COLUMNS: &str =
    "name, title, kinds, ceiling::text, fields, coarse_kinds, coarsening::text, grid_m, version, disabled";

fn from_row(row: &Row) -> Profile {
    let codes = |i: usize| -> Vec<SiteKind> {
        row.get::<_, Vec<String>>(i)
            .iter()
            .filter_map(|c| SiteKind::from_code(c))
            .collect()
    };
    let mut fields: Vec<&'static Field> = row
        .get::<_, Vec<String>>(4)
        .iter()
        .filter_map(|n| Field::from_name(n))
        .collect();
    fields.sort_by_key(|f| FIELDS.iter().position(|g| g == *f));
    Profile {
        name: row.get(0),
        title: row.get(1),
        kinds: codes(2),
        ceiling: Classification::from_code(row.get(3)).unwrap_or(Classification::Public),
        fields,
        coarse_kinds: codes(5),
        coarsening: match (row.get::<_, &str>(6), row.get::<_, Option<i32>>(7)) {
            ("grid", Some(m)) => Coarsening::Grid(m as u32),
            ("district", _) => Coarsening::District,
            _ => Coarsening::None,
        },
        version: row.get(8),
        disabled: row.get(9),
    }
}

pub async fn find(client: &impl GenericClient, name: &str) -> Result<Option<Profile>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM export_profile WHERE name = $1");
    Ok(client
        .query_opt(&sql, &[&name])
        .await?
        .map(|r| from_row(&r)))
}

pub async fn list(client: &impl GenericClient) -> Result<Vec<Profile>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM export_profile ORDER BY disabled, name");
    Ok(client
        .query(&sql, &[])
        .await?
        .iter()
        .map(from_row)
        .collect())
}

/// What saving a profile came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    Created,
    Updated,
    /// Someone saved it since `version` was read (or, for 0, it exists already).
    Stale,
}

/// Creates (`version` 0) or updates a profile, with an audit row holding what it was.
pub async fn save(
    client: &mut deadpool_postgres::Object,
    profile: &Profile,
    version: i32,
    user_id: Option<i32>,
    actor: &str,
) -> Result<Saved, DbError> {
    let tx = client.transaction().await?;
    let codes = |kinds: &[SiteKind]| -> Vec<String> {
        kinds.iter().map(|k| k.code().to_string()).collect()
    };
    let fields: Vec<String> = profile.fields.iter().map(|f| f.name.to_string()).collect();
    let grid = match profile.coarsening {
        Coarsening::Grid(m) => Some(m as i32),
        _ => None,
    };
    let before = tx
        .query_opt(
            "SELECT to_jsonb(p), version FROM export_profile p WHERE name = $1 FOR UPDATE",
            &[&profile.name],
        )
        .await?;
    let (sql, outcome) = match (&before, version) {
        (None, 0) => (
            "INSERT INTO export_profile
                 (name, title, kinds, ceiling, fields, coarse_kinds, coarsening, grid_m,
                  updated_by, disabled)
             VALUES ($1, $2, $3, $4::text::classification, $5, $6, $7::text::coarsening, $8, $9, $10)",
            Saved::Created,
        ),
        (Some(row), v) if v > 0 && row.get::<_, i32>(1) == v => (
            "UPDATE export_profile
                SET title = $2, kinds = $3, ceiling = $4::text::classification, fields = $5,
                    coarse_kinds = $6, coarsening = $7::text::coarsening, grid_m = $8,
                    updated_by = $9, disabled = $10, version = version + 1, updated_at = now()
              WHERE name = $1",
            Saved::Updated,
        ),
        _ => return Ok(Saved::Stale),
    };
    tx.execute(
        sql,
        &[
            &profile.name,
            &profile.title,
            &codes(&profile.kinds),
            &profile.ceiling.code(),
            &fields,
            &codes(&profile.coarse_kinds),
            &profile.coarsening.code(),
            &grid,
            &user_id,
            &profile.disabled,
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
         SELECT $1, $2, 'export_profile.save', 'export_profile', $3, $4, to_jsonb(p)
           FROM export_profile p WHERE name = $3",
        &[
            &user_id,
            &actor,
            &profile.name,
            &before.map(|r| r.get::<_, serde_json::Value>(0)),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProfileInput {
        ProfileInput {
            name: "bien-phong".into(),
            title: "Bộ đội Biên phòng tỉnh".into(),
            kinds: vec!["border_marker".into(), "militia_post_combat_work".into()],
            ceiling: "internal".into(),
            fields: vec!["status".into(), "code".into(), "name".into()],
            coarse_kinds: vec!["militia_post_combat_work".into()],
            coarsening: "grid".into(),
            grid_m: Some("500".into()),
            disabled: false,
        }
    }

    #[test]
    fn a_good_profile_is_read_with_fields_in_export_order() {
        let p = input().check().unwrap();
        let names: Vec<&str> = p.fields.iter().map(|f| f.name).collect();
        assert_eq!(names, ["code", "name", "status"]);
        assert_eq!(p.coarsening, Coarsening::Grid(500));
        assert_eq!(p.ceiling, Classification::Internal);
    }

    #[test]
    fn each_mistake_names_its_field() {
        type Change = fn(&mut ProfileInput);
        let cases: Vec<(Change, &str)> = vec![
            (|i| i.name = "Biên Phòng".into(), "name"),
            (|i| i.name = "-x".into(), "name"),
            (|i| i.title = "  ".into(), "title"),
            (|i| i.kinds = vec![], "kinds"),
            (|i| i.kinds = vec!["tank".into()], "kinds"),
            (|i| i.ceiling = "top".into(), "ceiling"),
            (|i| i.fields = vec!["geom".into()], "fields"),
            (|i| i.fields = vec![], "fields"),
            (|i| i.grid_m = Some("5".into()), "grid_m"),
            (|i| i.grid_m = None, "grid_m"),
            (|i| i.coarsening = "blur".into(), "coarsening"),
            (|i| i.coarsening = "none".into(), "coarsening"),
            (|i| i.coarse_kinds = vec![], "coarse_kinds"),
        ];
        for (change, field) in cases {
            let mut i = input();
            change(&mut i);
            assert_eq!(i.check().unwrap_err().field, field, "{i:?}");
        }
    }
}
