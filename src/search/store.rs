//! Writing a search zone's figures: the zone row, its append-only history row and an audit
//! row in one transaction, once per `Idempotency-Key`; an update made from an older version
//! merged with what changed since (a field both changed to different values is kept as a
//! conflict, with both sides, until a person picks; never overwritten). Who may: engineers
//! of the zone's districts or unit, and the unit in charge of it; an administrator
//! resolving a team's conflict, as their supervisor.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Object};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::Transaction;

use std::collections::HashMap;

use super::rules::{self, Asked, Figures};
use crate::accounts::sessions::SessionUser;
use crate::db::idempotency::{self, Claim, IdempotencyKey};
use crate::db::DbError;
use crate::domain::UserRole;
use crate::progress::conflicts::{self, NewConflict};
use crate::progress::rules::Violation;
use crate::progress::sync::Pick;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("no search zone '{0}'")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("search zone {} changed since version {expected}: it is at version {}", current.code, current.version)]
    Conflict {
        expected: i32,
        current: Box<ZoneState>,
    },
    #[error("the update breaks {} rule(s)", .0.len())]
    Rules(Vec<Violation>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for SearchError {
    fn from(err: tokio_postgres::Error) -> Self {
        SearchError::Db(err.into())
    }
}

/// A zone as it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneState {
    pub code: String,
    pub version: i32,
    #[serde(flatten)]
    pub figures: Figures,
    /// The zone's own area, in hectares (what can be concluded at most).
    pub zone_ha: Option<f64>,
}

/// An update of a zone's figures.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub code: String,
    /// The version the zone must be at, or (with `merge`) was at when the update was made.
    pub version: i32,
    pub merge: bool,
    pub asked: Asked,
    pub note: Option<String>,
    pub correction_reason: Option<String>,
    /// An administrator resolving someone else's conflict: their clearance is checked, not
    /// their districts or unit.
    pub supervising: bool,
    /// Added to the audit row (a conflict's authors and picks).
    pub audit_note: Option<Value>,
}

/// A zone locked for an update.
struct Locked {
    site_id: i64,
    state: ZoneState,
}

const ZONE_COLUMNS: &str =
    "z.remains_expected, z.remains_found, z.area_concluded_ha::float8, z.map_drawn,
                            z.map_drawn_on, z.concluded_on, z.unit_in_charge";

/// A zone's figures from the columns at `at` onwards, in [`ZONE_COLUMNS`]' order.
pub(super) fn figures_of(r: &tokio_postgres::Row, at: usize) -> Figures {
    Figures {
        remains_expected: r.get(at),
        remains_found: r.get(at + 1),
        area_concluded_ha: r.get(at + 2),
        map_drawn: r.get(at + 3),
        map_drawn_on: r.get(at + 4),
        concluded_on: r.get(at + 5),
        unit_in_charge: r.get(at + 6),
    }
}

/// Locks zone `code` for `user`: above their clearance (or not a zone) it does not exist
/// (404); outside their districts, unit and the zones their unit is in charge of, 403.
async fn lock(tx: &Transaction<'_>, user: &SessionUser, code: &str) -> Result<Locked, SearchError> {
    lock_as(tx, user, code, false).await
}

/// [`lock`], or for an administrator `supervising` a conflict's resolution, only the
/// clearance.
async fn lock_as(
    tx: &Transaction<'_>,
    user: &SessionUser,
    code: &str,
    supervising: bool,
) -> Result<Locked, SearchError> {
    let supervising = supervising && matches!(user.role, UserRole::Admin | UserRole::Reviewer);
    if user.role != UserRole::Engineer && !supervising {
        return Err(SearchError::Forbidden(format!(
            "only engineers and search teams update search zones; you are {}",
            user.role.code()
        )));
    }
    let row = tx
        .query_opt(
            &format!(
                "SELECT s.id, z.version, s.zone_area_m2 / 10000, {ZONE_COLUMNS},
                        s.classification <= $2::text::classification,
                        EXISTS (SELECT 1 FROM user_district ud
                                 WHERE ud.user_id = $3 AND ud.district_id = s.district_id)
                        OR coalesce(s.responsible_unit = $4, false) OR coalesce(z.unit_in_charge = $4, false)
                   FROM site s JOIN search_zone z ON z.site_id = s.id
                  WHERE s.code = $1
                    FOR UPDATE OF z"
            ),
            &[&code, &user.clearance.code(), &user.id, &user.unit],
        )
        .await?;
    let Some(row) = row.filter(|r| r.get::<_, bool>(10)) else {
        return Err(SearchError::NotFound(code.to_string()));
    };
    if !row.get::<_, bool>(11) && !supervising {
        return Err(SearchError::Forbidden(format!(
            "search zone {code} is outside your districts and unit, and your unit is not in charge of it"
        )));
    }
    Ok(Locked {
        site_id: row.get(0),
        state: ZoneState {
            code: code.to_string(),
            version: row.get(1),
            zone_ha: row.get(2),
            figures: figures_of(&row, 3),
        },
    })
}

/// The zone's figures at `version` (its history row of the highest version at or before).
async fn figures_at(
    tx: &Transaction<'_>,
    site_id: i64,
    version: i32,
) -> Result<Option<Figures>, DbError> {
    Ok(tx
        .query_opt(
            "SELECT z.remains_expected, z.remains_found, z.area_concluded_ha::float8, z.map_drawn,
                    z.map_drawn_on, z.concluded_on, z.unit_in_charge
               FROM search_history z
              WHERE z.site_id = $1 AND z.zone_version <= $2
              ORDER BY z.zone_version DESC, z.id DESC LIMIT 1",
            &[&site_id, &version],
        )
        .await?
        .map(|r| figures_of(&r, 0)))
}

async fn only_own_since(
    tx: &Transaction<'_>,
    site_id: i64,
    version: i32,
    user_id: i32,
) -> Result<bool, DbError> {
    Ok(tx
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM search_history WHERE site_id = $1 AND zone_version > $2
                                   AND recorded_by IS DISTINCT FROM $3)",
            &[&site_id, &version, &user_id],
        )
        .await?
        .get(0))
}

/// What an update comes to.
#[derive(Debug)]
pub enum Outcome {
    Applied {
        state: ZoneState,
        history_id: i64,
    },
    /// Made from an older version, it would set fields someone else changed since: kept as
    /// conflict `conflict`.
    Crossed {
        conflict: i64,
        fields: Vec<&'static str>,
        base: Figures,
        mine: Asked,
        theirs: ZoneState,
    },
    /// With review on, an engineer's update waits for review as `submission` (the zone
    /// stands as it was).
    Submitted {
        state: ZoneState,
        submission: i64,
    },
}

/// Applies `request` inside `tx` (which the caller commits): the rules, then the zone, its
/// history and an audit row; with review on, an engineer's update is kept as submitted.
pub async fn apply_in(
    tx: &Transaction<'_>,
    user: &SessionUser,
    request: &Request,
    today: NaiveDate,
) -> Result<Outcome, SearchError> {
    apply_as(tx, user, request, today, None).await
}

/// [`apply_in`], with the history row `author`'s (id, name) when given: a reviewer
/// approving a search team's submitted update.
pub(super) async fn apply_as(
    tx: &Transaction<'_>,
    user: &SessionUser,
    request: &Request,
    today: NaiveDate,
    author: Option<&(Option<i32>, String)>,
) -> Result<Outcome, SearchError> {
    let zone = lock_as(tx, user, &request.code, request.supervising).await?;
    let current = &zone.state;
    let mut asked = request.asked.clone();
    if current.version != request.version {
        let base = match request.merge {
            true if request.version >= 1 && request.version < current.version => {
                figures_at(tx, zone.site_id, request.version).await?
            }
            _ => None,
        };
        let Some(base) = base else {
            return Err(SearchError::Conflict {
                expected: request.version,
                current: Box::new(current.clone()),
            });
        };
        asked = asked.changes_from(&base);
        let fields = rules::crossed(&base, &current.figures, &asked);
        if !fields.is_empty() && !only_own_since(tx, zone.site_id, request.version, user.id).await?
        {
            let conflict = conflicts::record(
                tx,
                user,
                &NewConflict {
                    kind: "search",
                    site_id: zone.site_id,
                    base_version: request.version,
                    theirs_version: current.version,
                    fields: &fields,
                    base: json!(base),
                    theirs: json!(current.figures),
                    mine: mine_json(&asked, &base, request),
                },
            )
            .await?;
            return Ok(Outcome::Crossed {
                conflict,
                fields,
                base,
                mine: asked,
                theirs: current.clone(),
            });
        }
    }
    let after = asked.onto(&current.figures);
    let text = |t: &Option<String>| {
        t.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let (note, reason) = (text(&request.note), text(&request.correction_reason));
    let broken = rules::check(
        &current.figures,
        &after,
        current.zone_ha,
        reason.as_deref(),
        note.as_deref(),
        today,
    );
    if !broken.is_empty() {
        return Err(SearchError::Rules(broken));
    }
    if author.is_none()
        && !request.supervising
        && user.role == UserRole::Engineer
        && tx
            .query_opt("SELECT review FROM app_setting", &[])
            .await?
            .is_some_and(|r| r.get::<_, bool>(0))
    {
        let submission = submit(tx, user, zone.site_id, current, &after, (&note, &reason)).await?;
        return Ok(Outcome::Submitted {
            state: current.clone(),
            submission,
        });
    }
    let (recorded_by, actor) = match author {
        Some((id, name)) => (*id, name.clone()),
        None => (Some(user.id), user.username.clone()),
    };
    let written = tx
        .query_one(
            "WITH upd AS (
                 UPDATE search_zone SET remains_expected = $2, remains_found = $3,
                        area_concluded_ha = $4::float8::numeric(12, 2), map_drawn = $5, map_drawn_on = $6,
                        concluded_on = $7, unit_in_charge = $8, version = version + 1
                  WHERE site_id = $1 RETURNING version),
             h AS (
                 INSERT INTO search_history (site_id, recorded_by, actor, zone_version, remains_expected,
                        remains_found, area_concluded_ha, map_drawn, map_drawn_on, concluded_on,
                        unit_in_charge, note)
                 SELECT $1, $16, $17, upd.version, $2, $3, $4::float8::numeric(12, 2), $5, $6, $7, $8, $11
                   FROM upd RETURNING id, zone_version),
             a AS (
                 INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
                 SELECT $9, $10, 'site.search', 'site', $12, $13,
                        $14::jsonb || jsonb_build_object('version', h.zone_version, 'history_id', h.id,
                                                         'note', $11::text, 'correction_reason', $15::text)
                   FROM h)
             SELECT h.zone_version, h.id FROM h",
            &[
                &zone.site_id,
                &after.remains_expected,
                &after.remains_found,
                &after.area_concluded_ha,
                &after.map_drawn,
                &after.map_drawn_on,
                &after.concluded_on,
                &after.unit_in_charge,
                &user.id,
                &user.username,
                &note,
                &request.code,
                &json!(current),
                &audited(&after, request.audit_note.as_ref()),
                &reason,
                &recorded_by,
                &actor,
            ],
        )
        .await?;
    Ok(Outcome::Applied {
        state: ZoneState {
            code: request.code.clone(),
            version: written.get(0),
            figures: after,
            zone_ha: current.zone_ha,
        },
        history_id: written.get(1),
    })
}

/// Keeps `after` of zone `site_id` (standing at `current`) as submitted by `user`, in
/// place of their earlier ones of the zone still waiting: its id.
async fn submit(
    tx: &Transaction<'_>,
    user: &SessionUser,
    site_id: i64,
    current: &ZoneState,
    after: &Figures,
    texts: (&Option<String>, &Option<String>),
) -> Result<i64, DbError> {
    let old = &current.figures;
    let id: i64 = tx
        .query_one(
            "INSERT INTO search_submission (site_id, submitted_by, actor, base_version,
                    old_remains_expected, old_remains_found, old_area_concluded_ha, old_map_drawn,
                    old_map_drawn_on, old_concluded_on, old_unit_in_charge,
                    new_remains_expected, new_remains_found, new_area_concluded_ha, new_map_drawn,
                    new_map_drawn_on, new_concluded_on, new_unit_in_charge, note, correction_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7::float8::numeric(12, 2), $8, $9, $10, $11,
                     $12, $13, $14::float8::numeric(12, 2), $15, $16, $17, $18, $19, $20)
             RETURNING id",
            &[
                &site_id,
                &user.id,
                &user.username,
                &current.version,
                &old.remains_expected,
                &old.remains_found,
                &old.area_concluded_ha,
                &old.map_drawn,
                &old.map_drawn_on,
                &old.concluded_on,
                &old.unit_in_charge,
                &after.remains_expected,
                &after.remains_found,
                &after.area_concluded_ha,
                &after.map_drawn,
                &after.map_drawn_on,
                &after.concluded_on,
                &after.unit_in_charge,
                texts.0,
                texts.1,
            ],
        )
        .await?
        .get(0);
    let after = json!({ "site": current.code, "base_version": current.version, "figures": after,
                        "note": texts.0, "correction_reason": texts.1 });
    let table = ("search_submission", id, site_id);
    crate::progress::store::submitted(tx, user, table, Some(&json!(old)), &after).await?;
    Ok(id)
}

/// What a crossed update asked (only the fields it changes, as values), with its note and
/// reason: a conflict's "mine".
fn mine_json(asked: &Asked, base: &Figures, request: &Request) -> Value {
    let wanted = json!(asked.onto(base));
    let mut mine = serde_json::Map::new();
    for f in asked.names() {
        mine.insert(f.to_string(), wanted[f].clone());
    }
    mine.insert("note".into(), json!(request.note));
    mine.insert("correction_reason".into(), json!(request.correction_reason));
    Value::Object(mine)
}

/// The audit row's "after": the figures, and what `note` adds.
fn audited(after: &Figures, note: Option<&Value>) -> Value {
    let mut out = json!(after);
    if let (Some(Value::Object(note)), Value::Object(out)) = (note, &mut out) {
        out.extend(note.clone());
    }
    out
}

/// The answer to an outcome, as the API gives it (and gives again for the same key).
fn answer_of(outcome: &Result<Outcome, SearchError>) -> (u16, Value) {
    match outcome {
        Ok(Outcome::Applied { state, history_id }) => {
            (200, json!({ "zone": state, "history_id": history_id }))
        }
        Ok(Outcome::Submitted { state, submission }) => (
            200,
            json!({ "zone": state, "history_id": null, "submitted": submission }),
        ),
        Ok(Outcome::Crossed {
            conflict,
            fields,
            base,
            mine,
            theirs,
        }) => (
            409,
            json!({
                "error": format!("{} changed meanwhile by someone else: pick mine or theirs for each field", fields.join(", ")),
                "message_vi": format!("Trường {} vừa được người khác sửa trong lúc bạn ngoại tuyến; hãy chọn giá trị giữ lại trong mục Xung đột.", fields.join(", ")),
                "status": 409, "fields": fields, "base": base, "mine": mine.onto(base), "current": theirs,
                "conflict": { "id": conflict, "fields": fields, "base": base, "theirs": theirs.figures,
                              "mine": mine.onto(base), "resolve": format!("/api/conflicts/{conflict}") },
            }),
        ),
        Err(SearchError::Rules(v)) => (
            422,
            json!({
                "error": "the update breaks the search rules", "status": 422,
                "violations": v.iter().map(|v| json!({
                    "field": v.field, "rule": v.rule, "message": v.en, "message_vi": v.vi,
                })).collect::<Vec<_>>(),
            }),
        ),
        Err(SearchError::Conflict { expected, current }) => (
            409,
            json!({ "error": format!("the zone changed since version {expected}"), "status": 409, "current": current }),
        ),
        Err(e) => {
            let status = match e {
                SearchError::NotFound(_) => 404,
                SearchError::Forbidden(_) => 403,
                _ => 500,
            };
            (status, json!({ "error": e.to_string(), "status": status }))
        }
    }
}

/// Sends `request` once (with `key`, a repeat gets the first answer and writes nothing):
/// the answer's status and body. Who may not (403, 404) is not kept with the key; database
/// failures are errors, nothing kept.
pub async fn send(
    client: &mut Object,
    user: &SessionUser,
    request: &Request,
    key: Option<&IdempotencyKey>,
    today: NaiveDate,
) -> Result<(u16, Value), SearchError> {
    let tx = client.transaction().await?;
    if let Some(key) = key {
        let claim = idempotency::claim(&tx, key).await?;
        if matches!(claim, Claim::Answered { .. }) {
            lock(&tx, user, &request.code).await?;
        }
        if let Some(answer) = claim.answer() {
            return Ok(answer);
        }
    }
    let outcome = apply_in(&tx, user, request, today).await;
    match outcome {
        Err(SearchError::Db(e)) => return Err(SearchError::Db(e)),
        Err(e @ (SearchError::NotFound(_) | SearchError::Forbidden(_))) => return Err(e),
        _ => {}
    }
    let (status, body) = answer_of(&outcome);
    if let Some(key) = key {
        idempotency::record(&tx, key, status, &body).await?;
    }
    tx.commit().await?;
    Ok((status, body))
}

/// Resolves search conflict `id` (`user`'s own, or any for an administrator cleared for
/// the zone) with a pick for every field it names: the other fields asked and the picked
/// ones of "mine" applied onto the zone as it now stands under the search rules, one
/// history row and one audit row naming both authors and the resolver. `None` when `user`
/// has no such open search conflict. With review on, an engineer's own resolution waits
/// for review like any update of theirs: `Resolved::submitted`.
pub async fn resolve(
    client: &mut Object,
    user: &SessionUser,
    id: i64,
    picks: &HashMap<String, Pick>,
    today: NaiveDate,
) -> Result<Option<Resolved>, SearchError> {
    let tx = client.transaction().await?;
    let Some(conflict) = conflicts::lock_resolvable(&tx, user, id).await? else {
        return Ok(None);
    };
    if conflict.kind != "search" {
        return Ok(None);
    }
    let wrong = conflicts::check_picks(&conflict, picks, |f| {
        rules::FIELDS
            .iter()
            .find(|x| **x == f)
            .copied()
            .unwrap_or("remains_found")
    });
    if !wrong.is_empty() {
        return Err(SearchError::Rules(wrong));
    }
    let supervising = conflict.author != user.username;
    let zone = lock_as(&tx, user, &conflict.code, supervising).await?;
    if zone.state.version != conflict.theirs_version {
        // The zone moved on since the conflict was shown: "theirs" shows where it stands
        // now, and the author picks again.
        let theirs = json!(zone.state.figures);
        conflicts::refresh(&tx, id, zone.state.version, &theirs).await?;
        tx.commit().await?;
        return Err(SearchError::Conflict {
            expected: conflict.theirs_version,
            current: Box::new(zone.state),
        });
    }
    let Value::Object(mut mine) = conflict.mine.clone() else {
        return Err(DbError::Data(format!("conflict {id} keeps no update")).into());
    };
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
    let note = text(mine.remove("note"));
    let correction_reason = text(mine.remove("correction_reason"));
    mine.retain(|f, _| picks.get(f) != Some(&Pick::Theirs));
    let asked: Asked = serde_json::from_value(Value::Object(mine)).map_err(|e| {
        DbError::Data(format!(
            "conflict {id} keeps an update kvpt cannot read: {e}"
        ))
    })?;
    let authors: Vec<String> = tx
        .query(
            "SELECT DISTINCT actor FROM search_history
              WHERE site_id = $1 AND zone_version > $2 AND actor <> $3 ORDER BY actor",
            &[&zone.site_id, &conflict.base_version, &conflict.author],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let request = Request {
        code: conflict.code.clone(),
        version: zone.state.version,
        merge: false,
        asked,
        note,
        correction_reason,
        supervising,
        audit_note: Some(json!({
            "conflict": { "id": id, "mine_by": conflict.author, "theirs_by": authors,
                          "resolved_by": user.username, "picked": picks },
        })),
    };
    let resolved = match apply_in(&tx, user, &request, today).await? {
        Outcome::Applied { state, history_id } => Resolved {
            state,
            history_id: Some(history_id),
            submitted: None,
        },
        Outcome::Submitted { state, submission } => Resolved {
            state,
            history_id: None,
            submitted: Some(submission),
        },
        Outcome::Crossed { .. } => {
            return Err(
                DbError::Data(format!("conflict {id} crossed again at its own version")).into(),
            )
        }
    };
    let resolution = json!({ "picked": picks, "history_id": resolved.history_id,
                             "submitted": resolved.submitted });
    conflicts::mark_resolved(&tx, user, id, &resolution).await?;
    tx.commit().await?;
    Ok(Some(resolved))
}

/// What a resolved search conflict came to.
#[derive(Debug, Serialize)]
pub struct Resolved {
    #[serde(rename = "zone")]
    pub state: ZoneState,
    pub history_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<i64>,
}

/// The search zones' layer versions as they stand (bumped at commit by the search_zone
/// trigger), so this process's caches move on at once after a write.
pub async fn layer_versions(client: &impl GenericClient) -> Result<Vec<(String, i64)>, DbError> {
    Ok(client
        .query(
            "SELECT v.layer, v.version FROM layer_version v
               JOIN site_kind k ON k.layer_group = split_part(v.layer, '@', 1)
              WHERE k.code = 'remains_search_zone'",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Zone `code` as `user` may see it (404 above their clearance), with whether they may
/// update it.
pub async fn state(
    client: &mut Object,
    user: &SessionUser,
    code: &str,
) -> Result<ZoneState, SearchError> {
    let tx = client.transaction().await?;
    let zone = lock(&tx, user, code).await?;
    tx.rollback().await?;
    Ok(zone.state)
}

/// The zones `user` may update (as [`lock`] allows: their districts or unit, or their unit
/// in charge), below their clearance, by code.
pub async fn updatable_zones(
    client: &impl GenericClient,
    user: &SessionUser,
) -> Result<Vec<ZoneState>, DbError> {
    if user.role != UserRole::Engineer {
        return Ok(Vec::new());
    }
    Ok(client
        .query(
            &format!(
                "SELECT s.code, z.version, s.zone_area_m2 / 10000, {ZONE_COLUMNS}
                   FROM site s JOIN search_zone z ON z.site_id = s.id
                  WHERE s.classification <= $1::text::classification
                    AND (EXISTS (SELECT 1 FROM user_district ud
                                  WHERE ud.user_id = $2 AND ud.district_id = s.district_id)
                         OR coalesce(s.responsible_unit = $3, false)
                         OR coalesce(z.unit_in_charge = $3, false))
                  ORDER BY s.code"
            ),
            &[&user.clearance.code(), &user.id, &user.unit],
        )
        .await?
        .iter()
        .map(|r| ZoneState {
            code: r.get(0),
            version: r.get(1),
            zone_ha: r.get(2),
            figures: figures_of(r, 3),
        })
        .collect())
}

/// One change of a zone's figures, as its page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SearchEntry {
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub figures: Figures,
    pub note: Option<String>,
}

/// Site `site_id`'s figures as they stand, if it is a search zone.
pub async fn figures(
    client: &impl GenericClient,
    site_id: i64,
) -> Result<Option<Figures>, DbError> {
    Ok(client
        .query_opt(
            &format!("SELECT {ZONE_COLUMNS} FROM search_zone z WHERE z.site_id = $1"),
            &[&site_id],
        )
        .await?
        .map(|r| figures_of(&r, 0)))
}

/// Site `site_id`'s search history, oldest first.
pub async fn history(
    client: &impl GenericClient,
    site_id: i64,
) -> Result<Vec<SearchEntry>, DbError> {
    Ok(client
        .query(
            &format!(
                "SELECT z.recorded_at, z.actor, z.note, {ZONE_COLUMNS} FROM search_history z
                  WHERE z.site_id = $1 ORDER BY z.recorded_at, z.id"
            ),
            &[&site_id],
        )
        .await?
        .iter()
        .map(|r| SearchEntry {
            recorded_at: r.get(0),
            actor: r.get(1),
            note: r.get(2),
            figures: figures_of(r, 3),
        })
        .collect())
}

/// A history row for each of `site_ids` as their zones now stand (after an import wrote
/// them), by `user_id` (`actor`).
pub async fn record_as_written(
    tx: &Transaction<'_>,
    site_ids: &[i64],
    user_id: Option<i32>,
    actor: &str,
    note: &str,
) -> Result<u64, DbError> {
    Ok(tx
        .execute(
            "INSERT INTO search_history (site_id, recorded_by, actor, zone_version, remains_expected,
                    remains_found, area_concluded_ha, map_drawn, map_drawn_on, concluded_on,
                    unit_in_charge, note)
             SELECT site_id, $2, $3, version, remains_expected, remains_found, area_concluded_ha,
                    map_drawn, map_drawn_on, concluded_on, unit_in_charge, $4
               FROM search_zone WHERE site_id = ANY($1)",
            &[&site_ids, &user_id, &actor, &note],
        )
        .await?)
}
