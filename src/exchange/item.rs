//! One work written through OGC API – Features Part 4: a created, replaced or patched
//! feature is checked here for its shape, then goes through the import's rules, history,
//! audit and log as a file of one feature (`via` "api"), so the API and the files keep
//! one set of rules: a kind's geometry type, the district derived, the progress rules,
//! clearance and districts. Deleting marks the work deleted in one transaction; its
//! histories stay (they are append-only), its code stays taken.

use deadpool_postgres::Pool;
use serde_json::{json, Map, Value};

use super::import::rows::{Column, CLEARABLE};
use super::import::{self, Importer, Problem, Report};
use super::ExchangeError;
use crate::db::DbError;
use crate::domain::LayerGroup;

/// The properties a work always has, or the progress and search rules own: a write may
/// change them but not empty them.
const NOT_EMPTIED: &str = "name, kind, status, percent, programme, classification, the actual dates and the search figures";

/// How one write asks for its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// POST: a new work.
    Create,
    /// PUT: every writable property as given; the optional ones left out are emptied.
    Replace,
    /// PATCH (JSON Merge Patch): the properties given; `null` empties an optional one.
    Patch,
}

/// What was wrong with a write, each case its own answer.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The body is not a feature kvpt can read (400), naming the member.
    #[error("{field}: {reason}")]
    Body { field: String, reason: String },
    /// The rules refused it (422): every problem, naming its field.
    #[error("the work was refused")]
    Refused(Vec<Problem>),
    /// The work changed since the version the client holds (412).
    #[error("{0}")]
    Stale(String),
    /// The code is taken, or the work cannot be deleted (409).
    #[error("{0}")]
    Conflict(String),
    /// No such work the caller may see (404).
    #[error("no work '{0}'")]
    NotFound(String),
    /// Outside the caller's districts (403).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
}

impl From<DbError> for ItemError {
    fn from(err: DbError) -> Self {
        ItemError::Exchange(err.into())
    }
}

impl From<tokio_postgres::Error> for ItemError {
    fn from(err: tokio_postgres::Error) -> Self {
        ItemError::Exchange(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for ItemError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        ItemError::Exchange(err.into())
    }
}

fn body_error(field: &str, reason: impl Into<String>) -> ItemError {
    ItemError::Body {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// A feature as the import reads it: the properties to write, and the optional ones to empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub code: String,
    pub feature: Value,
    pub clear: Vec<&'static str>,
}

/// Checks a request body for `method` on collection `group` (`None`: every site
/// kind). `code` is the item's code from the path (PUT, PATCH); `current` is the work as
/// the caller reads it now (PATCH: what the patch applies to).
pub fn check(
    method: Method,
    group: Option<LayerGroup>,
    code: Option<&str>,
    body: &Value,
    current: Option<&Value>,
) -> Result<Checked, ItemError> {
    let feature = body
        .as_object()
        .ok_or_else(|| body_error("body", "a GeoJSON Feature (a JSON object) is expected"))?;
    if method != Method::Patch && feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(body_error("type", "must be \"Feature\""));
    }
    for key in feature.keys() {
        if !matches!(
            key.as_str(),
            "type" | "id" | "geometry" | "properties" | "links" | "bbox"
        ) {
            return Err(body_error(
                key,
                "unknown member; a feature has type, id, geometry and properties",
            ));
        }
    }
    let empty = Map::new();
    let properties = match feature.get("properties") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(body_error("properties", "must be an object")),
    };
    let geometry = match (method, feature.get("geometry")) {
        (Method::Patch, None) => None,
        (Method::Patch, Some(patch)) => {
            let old = current
                .and_then(|c| c.get("geometry"))
                .unwrap_or(&Value::Null);
            Some(merge_patch(old, patch))
        }
        (_, Some(g)) if g.is_object() => Some(g.clone()),
        _ => return Err(body_error("geometry", "a work needs a GeoJSON geometry")),
    };
    // A PATCH's geometry is judged once merged with the work's (its first pass, before the
    // work is read, may hold only coordinates).
    let partial = method == Method::Patch && current.is_none();
    if let Some(g) = geometry.as_ref().filter(|_| !partial) {
        if !g.is_object() || g.get("type").and_then(Value::as_str).is_none() {
            return Err(body_error(
                "geometry",
                "must be a GeoJSON geometry object with a type",
            ));
        }
    }
    let path_code = code.map(str::to_string);
    let id = match feature.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(body_error("id", "must be the work's code, a string")),
    };
    let given_code = match properties.get("code") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(body_error("code", "must be a string")),
    };
    let mut codes = [path_code.clone(), id, given_code].into_iter().flatten();
    let code = codes
        .next()
        .ok_or_else(|| body_error("code", "a new work needs its code (properties.code or id)"))?;
    if let Some(other) = codes.find(|c| c != &code) {
        let field = if path_code.is_some() { "code" } else { "id" };
        return Err(body_error(
            field,
            format!(
                "names work '{other}' but the request is for '{code}': a work's code cannot change"
            ),
        ));
    }
    let mut out = Map::new();
    let mut clear = Vec::new();
    for (key, value) in properties {
        let column = Column::of(key);
        match column {
            Column::Unknown => {
                return Err(body_error(
                    key,
                    "unknown property; see the collection's queryables for what a work carries",
                ))
            }
            // Derived by kvpt (district, layer, budget totals, last update…): read past.
            Column::Ignored => continue,
            Column::Field(f) if f.name == "version" => continue,
            Column::Field(f) if f.name == "code" => continue,
            _ => {}
        }
        let name = match column {
            Column::Field(f) => f.name,
            Column::Note => "note",
            _ => "correction_reason",
        };
        if value.is_null() {
            match CLEARABLE.iter().find(|c| **c == name) {
                Some(c) => clear.push(*c),
                None if matches!(name, "note" | "correction_reason") => {}
                None => {
                    return Err(body_error(
                        key,
                        format!("cannot be emptied ({NOT_EMPTIED} cannot)"),
                    ))
                }
            }
            continue;
        }
        if value.is_object() || value.is_array() {
            return Err(body_error(key, "must be a string, a number or a boolean"));
        }
        out.insert(name.to_string(), value.clone());
    }
    if method == Method::Replace {
        for c in CLEARABLE {
            if !out.contains_key(*c) && !clear.contains(c) {
                clear.push(c);
            }
        }
    }
    if let Some(kind) = out.get("kind") {
        let known = kind.as_str().and_then(crate::domain::SiteKind::from_code);
        let Some(k) = known else {
            let codes: Vec<&str> = crate::domain::SiteKind::PLACED
                .iter()
                .map(|k| k.code())
                .collect();
            return Err(body_error(
                "kind",
                format!("unknown kind {kind}; one of {}", codes.join(", ")),
            ));
        };
        if let Some(group) = group {
            let kind = k.code();
            if k.layer_group() != group {
                return Err(body_error(
                    "kind",
                    format!(
                        "a {kind} belongs to collection '{}', not '{}'",
                        k.layer_group().code(),
                        group.code()
                    ),
                ));
            }
        }
    }
    if method == Method::Create && !out.contains_key("kind") {
        return Err(body_error("kind", "a new work needs its kind"));
    }
    out.insert("code".into(), json!(code));
    let mut written = json!({ "type": "Feature", "properties": out });
    if let Some(g) = geometry {
        written["geometry"] = g;
    } else {
        written["geometry"] = Value::Null;
    }
    Ok(Checked {
        code,
        feature: written,
        clear,
    })
}

/// RFC 7396 JSON Merge Patch: `patch` applied to `target`.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(t) => t.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            out.remove(key);
        } else {
            let old = out.get(key).cloned().unwrap_or(Value::Null);
            out.insert(key.clone(), merge_patch(&old, value));
        }
    }
    Value::Object(out)
}

/// Writes `checked` for `who` through the import, the work expected at `version` (PUT and
/// PATCH) or new (POST: `None`). `request` names the write in the import log and the history.
pub async fn write(
    pool: &Pool,
    request: &str,
    checked: Checked,
    version: Option<i32>,
    who: &Importer,
) -> Result<Report, ItemError> {
    let mut feature = checked.feature;
    // A new work is expected at version 0, which no work has: when the code names a work
    // the caller may see, the import's version check refuses it (a POST never updates).
    feature["properties"]["version"] = json!(version.unwrap_or(0));
    let collection = json!({ "type": "FeatureCollection", "features": [feature] });
    let dir = super::export::TempDir::new().map_err(ExchangeError::Io)?;
    let path = dir.path.join("feature.geojson");
    std::fs::write(&path, collection.to_string()).map_err(ExchangeError::Io)?;
    let options = import::Options {
        clear: checked.clear,
        ..import::Options::default()
    };
    let progress = std::sync::Arc::new(import::Progress::default());
    let report = import::run(pool, &path, request, &options, who, progress, None).await?;
    if report.committed() {
        return Ok(report);
    }
    // A file's "wrong coordinate system?" hint says nothing the row's own geometry error
    // does not: the body's coordinates are CRS84 by definition.
    let mut problems: Vec<Problem> = report
        .file_errors
        .iter()
        .filter(|p| p.field != "srs")
        .cloned()
        .collect();
    problems.extend(report.rows.iter().flat_map(|r| r.errors.iter().cloned()));
    if problems.is_empty() && report.file_errors.iter().any(|p| p.field == "srs") {
        return Err(body_error(
            "geometry",
            "the coordinates are not longitude, latitude in degrees (CRS84): a written feature's are",
        ));
    }
    if problems.iter().any(|p| p.field == "version") {
        return Err(match version {
            None => ItemError::Conflict(format!(
                "work '{code}' exists: change it with PUT or PATCH",
                code = feature["properties"]["code"].as_str().unwrap_or("")
            )),
            Some(v) => ItemError::Stale(format!(
                "the work changed since version {v}: GET it again and reapply your change"
            )),
        });
    }
    if let Some(taken) = problems
        .iter()
        .find(|p| p.field == "code" && p.en.contains("is taken"))
    {
        // A PUT or PATCH whose work was deleted, or put out of the caller's reach, since
        // they read it: the work moved on.
        return Err(match version {
            Some(_) => ItemError::Stale("the work changed since you read it: GET it again".into()),
            None => ItemError::Conflict(taken.en.clone()),
        });
    }
    if let Some(gone) = problems
        .iter()
        .find(|p| p.field == "code" && p.en.starts_with("no work has code"))
    {
        return Err(ItemError::NotFound(gone.en.clone()));
    }
    Err(ItemError::Refused(problems))
}

/// Marks work `code` deleted for `who`, if it is at `version` and has no budget lines;
/// audited. Its histories stay; every current view leaves it.
pub async fn delete(
    pool: &Pool,
    code: &str,
    version: Option<i32>,
    who: &Importer,
) -> Result<(), ItemError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT s.id, s.version, s.district_id
               FROM site s
              WHERE s.code = $1 AND s.classification <= $2::text::classification
                AND s.geom IS NOT NULL
                FOR UPDATE OF s",
            &[&code, &who.clearance.code()],
        )
        .await?
        .ok_or_else(|| ItemError::NotFound(code.to_string()))?;
    let (id, current, district): (i64, i32, Option<i32>) = (row.get(0), row.get(1), row.get(2));
    // Counted after the lock, in a statement of its own: it sees a line committed while
    // this transaction waited for the work.
    let lines: i64 = tx
        .query_one(
            "SELECT count(*) FROM budget_line WHERE site_id = $1",
            &[&id],
        )
        .await?
        .get(0);
    if let Some(districts) = &who.districts {
        if district.is_none_or(|d| !districts.contains(&d)) {
            return Err(ItemError::Forbidden(
                "the work lies outside your districts".into(),
            ));
        }
    }
    if let Some(v) = version.filter(|v| *v != current) {
        return Err(ItemError::Stale(format!(
            "the work changed since version {v} (now {current})"
        )));
    }
    if lines > 0 {
        return Err(ItemError::Conflict(format!(
            "work '{code}' has {lines} budget line(s): a work with money planned or spent cannot be deleted; set its status instead"
        )));
    }
    tx.execute(
        "WITH old AS (
             SELECT s.code, s.name, s.name_en, s.kind, s.programme, s.phase, s.responsible_unit,
                    s.classification, s.status, s.progress_pct, s.planned_start, s.planned_finish,
                    s.actual_start, s.actual_finish, s.version, ST_AsText(s.geom) AS geom_wkt
               FROM site s WHERE s.id = $1),
         gone AS (
             UPDATE site SET deleted_at = now(), deleted_by = $2, version = version + 1, updated_at = now()
              WHERE id = $1 RETURNING version)
         INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
         SELECT $2, $3, 'site.delete', 'site', old.code, to_jsonb(old),
                jsonb_build_object('deleted', true, 'version', gone.version, 'via', $4::text)
           FROM old, gone",
        &[&id, &who.user_id, &who.name, &who.via],
    )
    .await?;
    // Updates of it waiting for review have nothing left to count on.
    for table in ["progress_submission", "search_submission"] {
        tx.execute(
            &format!(
                "UPDATE {table}
                    SET state = 'returned', reason = 'Công trình đã bị xóa / the work was deleted',
                        decided_by = $2, decided_actor = $3, decided_at = now()
                  WHERE site_id = $1 AND state = 'submitted'"
            ),
            &[&id, &who.user_id, &who.name],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        let patch = json!({"a": "z", "c": {"f": null}});
        assert_eq!(
            merge_patch(&target, &patch),
            json!({"a": "z", "c": {"d": "e"}})
        );
        assert_eq!(
            merge_patch(&json!({"a": [1]}), &json!({"a": [2, 3]})),
            json!({"a": [2, 3]})
        );
    }

    #[test]
    fn a_body_is_checked_before_anything_is_read() {
        let point = json!({"type": "Point", "coordinates": [106.1, 11.3]});
        let ok = json!({"type": "Feature", "geometry": point,
                        "properties": {"code": "KHO-X-1", "kind": "warehouse", "name": "Kho", "district": "ignored"}});
        let c = check(Method::Create, Some(LayerGroup::Logistics), None, &ok, None).unwrap();
        assert_eq!(c.code, "KHO-X-1");
        assert!(c.feature["properties"].get("district").is_none());
        let wrong_group = check(Method::Create, Some(LayerGroup::Land), None, &ok, None);
        assert!(matches!(wrong_group, Err(ItemError::Body { field, .. }) if field == "kind"));
        let unknown =
            json!({"type": "Feature", "geometry": point, "properties": {"code": "A", "colour": 1}});
        assert!(matches!(check(Method::Create, None, None, &unknown, None),
                         Err(ItemError::Body { field, .. }) if field == "colour"));
        let renamed = json!({"type": "Feature", "id": "B", "geometry": point, "properties": {}});
        assert!(
            matches!(check(Method::Replace, None, Some("A"), &renamed, None),
                         Err(ItemError::Body { field, .. }) if field == "code")
        );
        let emptied = json!({"properties": {"name": null}});
        assert!(
            matches!(check(Method::Patch, None, Some("A"), &emptied, None),
                         Err(ItemError::Body { field, .. }) if field == "name")
        );
        let cleared = json!({"properties": {"name_en": null}});
        let c = check(Method::Patch, None, Some("A"), &cleared, None).unwrap();
        assert_eq!(c.clear, vec!["name_en"]);
        assert!(c.feature["geometry"].is_null());
        let replaced = json!({"type": "Feature", "geometry": point, "properties": {"name": "Kho"}});
        let c = check(Method::Replace, None, Some("A"), &replaced, None).unwrap();
        assert_eq!(c.clear.len(), CLEARABLE.len());
    }
}
