//! Updates sent from a phone's queue: applied once however often they arrive (an
//! `Idempotency-Key`), and, when made from an older version, merged field by field with
//! what changed since (never last-wins). An update that crossed another is kept as a
//! conflict until its author picks, field by field; nothing is dropped.

use std::collections::HashMap;

use chrono::NaiveDate;
use deadpool_postgres::Object;
use serde_json::{json, Value};
use tokio_postgres::Transaction;

use super::conflicts::{self, NewConflict};
use super::merge::{self, Asked, Merged};
use super::rules::Update;
use super::store::{self, Applied, Keep, ProgressError, Request};
use crate::accounts::sessions::SessionUser;
use crate::db::idempotency::{self, Claim, IdempotencyKey};

/// What became of an update.
#[derive(Debug)]
pub enum Synced {
    Applied(Applied),
    /// It crossed another update: kept as conflict `id` on `fields`.
    Crossed {
        id: i64,
        fields: Vec<&'static str>,
        base: Value,
        theirs: Box<store::SiteState>,
        mine: Value,
    },
}

/// An answer as the client gets it (and gets again for the same key).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// An update sent: its answer, and what it applied when this call applied it.
pub struct Sent {
    pub answer: Answer,
    pub applied: Option<Applied>,
}

/// The fields `request` sets (those it does not keep).
fn asked_of(request: &Request) -> Asked {
    let (u, keep) = (&request.update, request.keep);
    Asked {
        status: (!keep.status).then_some(u.status),
        percent: (!keep.percent).then_some(u.percent),
        actual_start: if keep.actual_start {
            None
        } else {
            u.actual_start
        },
        actual_finish: if keep.actual_finish {
            None
        } else {
            u.actual_finish
        },
    }
}

/// Applies `request`, made from version `request.expected_version`: as it is when that is
/// the site's version; merged onto the newer version when `merge` and nothing crossed; kept
/// as a conflict when something did. Without `merge`, a newer version is a 409 as before.
pub async fn apply_from(
    tx: &Transaction<'_>,
    user: &SessionUser,
    request: &Request,
    merge: bool,
    today: NaiveDate,
) -> Result<Synced, ProgressError> {
    if !merge {
        return store::apply_in(tx, user, request, today)
            .await
            .map(Synced::Applied);
    }
    let site = store::lock_site(tx, user, &request.code).await?;
    let base_version = request.expected_version;
    if base_version == site.version || base_version < 1 || base_version > site.version {
        // The current version (or one that never was: a 409 with where it stands).
        return store::apply_in(tx, user, request, today)
            .await
            .map(Synced::Applied);
    }
    let base = store::progress_at(tx, site.id, base_version).await?;
    let asked = asked_of(request);
    let merged = match merge::merge(&base, &site.current, &asked) {
        // Only this user wrote since the base (a phone's queue sending its own earlier
        // updates): theirs is their own, and the later update wins where it changes a field.
        Merged::Conflict(_)
            if store::only_own_since(tx, site.id, base_version, user.id).await? =>
        {
            Merged::Apply(asked.changes_from(&base))
        }
        merged => merged,
    };
    match merged {
        Merged::Apply(asked) => {
            // What the merge keeps of others' changes is kept as the site has it.
            let keep = Keep {
                status: asked.status.is_none(),
                percent: asked.percent.is_none(),
                actual_start: asked.actual_start.is_none(),
                actual_finish: asked.actual_finish.is_none(),
            };
            let onto = Request {
                expected_version: site.version,
                keep,
                ..request.clone()
            };
            store::apply_in(tx, user, &onto, today)
                .await
                .map(Synced::Applied)
        }
        Merged::Conflict(fields) => {
            let u = &request.update;
            let conflict = NewConflict {
                kind: "progress",
                site_id: site.id,
                base_version,
                theirs_version: site.version,
                fields: &fields,
                base: conflicts::progress_json(&base),
                theirs: conflicts::progress_json(&site.current),
                // What the update changes, not the whole form it was sent as: resolving
                // must not put back a field it only repeated from its base.
                mine: conflicts::asked_json(
                    &asked.changes_from(&base),
                    &u.note,
                    &u.correction_reason,
                ),
            };
            let id = conflicts::record(tx, user, &conflict).await?;
            let theirs = store::state_of(tx, site.id).await?;
            Ok(Synced::Crossed {
                id,
                fields: fields.clone(),
                base: conflict.base,
                theirs: Box::new(theirs),
                mine: conflict.mine,
            })
        }
    }
}

/// What a key used before answers, if it was (`None`: its first use, claimed in `tx`).
/// A kept answer is given only while `user` still may update site `code`: a lowered
/// clearance or a lost district also hides what was answered before.
async fn answered(
    tx: &deadpool_postgres::Transaction<'_>,
    user: &SessionUser,
    code: &str,
    key: &IdempotencyKey,
) -> Result<Option<Answer>, ProgressError> {
    let claim = idempotency::claim(tx, key).await?;
    if matches!(claim, Claim::Answered { .. }) {
        store::lock_site(tx, user, code).await?;
    }
    Ok(claim.answer().map(|(status, body)| Answer { status, body }))
}

/// Sends `request` once: with `key`, a repeat gets the first answer (and writes nothing);
/// `render` turns what happened into the answer, which is kept with the key. Database
/// failures are not answers: they are returned, nothing kept, and the key stays free.
pub async fn send(
    client: &mut Object,
    user: &SessionUser,
    request: &Request,
    merge: bool,
    key: Option<&IdempotencyKey>,
    today: NaiveDate,
    render: impl FnOnce(&Result<Synced, ProgressError>) -> Answer,
) -> Result<Sent, ProgressError> {
    let tx = client.transaction().await?;
    if let Some(key) = key {
        if let Some(answer) = answered(&tx, user, &request.code, key).await? {
            return Ok(Sent {
                answer,
                applied: None,
            });
        }
    }
    let outcome = apply_from(&tx, user, request, merge, today).await;
    if let Err(ProgressError::Db(e)) = outcome {
        return Err(ProgressError::Db(e));
    }
    let answer = render(&outcome);
    // Who may update what can change (a district given, a clearance raised): those
    // refusals are not kept, so a later try is judged afresh.
    let lasting = !matches!(answer.status, 403 | 404);
    match key {
        Some(key) if lasting => idempotency::record(&tx, key, answer.status, &answer.body).await?,
        Some(_) => {
            tx.rollback().await?;
            return Ok(Sent {
                answer,
                applied: None,
            });
        }
        None => {}
    }
    tx.commit().await?;
    let mut applied = match outcome {
        Ok(Synced::Applied(a)) => Some(a),
        _ => None,
    };
    if let Some(a) = applied.as_mut() {
        store::committed_versions(&*client, std::slice::from_mut(a)).await?;
    }
    Ok(Sent { answer, applied })
}

/// Sends a photo of site `code` once (with `key`, a repeat gets the first answer): it
/// documents history row `history_id` when that is `user`'s update of the site (the update
/// it was queued with), and the site alone when none is given (an update kept as a
/// conflict). One audit row.
pub async fn send_photo(
    client: &mut Object,
    user: &SessionUser,
    code: &str,
    history_id: Option<i64>,
    submission_id: Option<i64>,
    photo: &super::photos::Photo,
    key: Option<&IdempotencyKey>,
) -> Result<Answer, ProgressError> {
    let tx = client.transaction().await?;
    if let Some(key) = key {
        if let Some(answer) = answered(&tx, user, code, key).await? {
            return Ok(answer);
        }
    }
    // Who may not (403, 404) is an error, not kept with the key: judged afresh next time.
    let site = store::lock_site(&tx, user, code).await?;
    let refused = |error: String| Answer {
        status: 422,
        body: json!({ "error": error, "status": 422 }),
    };
    // With review on, an update queued with the photo may wait for review: the photo then
    // documents that submission (and, once it is approved, its history row).
    let documents = match submission_id {
        None => Ok((history_id, None)),
        Some(s) => super::review::own_submission(&tx, site.id, user.id, s)
            .await?
            .map(|h| (h.or(history_id), Some(s)))
            .ok_or_else(|| {
                format!("submission_id {s} is not an update of yours to site {code} that waits or was approved")
            }),
    };
    let answer = match (documents, history_id) {
        (Err(error), _) => refused(error),
        (Ok(_), Some(h)) if !store::is_own_update(&tx, site.id, h, user.id).await? => refused(
            format!("history_id {h} is not an update of yours to site {code}"),
        ),
        (Ok((history_id, submission)), _) => {
            let id = store::insert_photo(&tx, site.id, history_id, user.id, photo).await?;
            if let Some(s) = submission {
                super::review::attach_photo(&tx, id, s).await?;
            }
            store::audit_photo(&tx, user, code, id, history_id).await?;
            Answer {
                status: 201,
                body: json!({
                    "photo": id, "history_id": history_id, "submission_id": submission,
                    "url": format!("/photos/{id}"), "thumbnail": format!("/photos/{id}/thumb"),
                }),
            }
        }
    };
    if let Some(key) = key {
        idempotency::record(&tx, key, answer.status, &answer.body).await?;
    }
    tx.commit().await?;
    Ok(answer)
}

/// Mine or theirs, for one field of a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pick {
    Mine,
    Theirs,
}

/// Resolves conflict `id` (`user`'s own, or any for an administrator cleared for its site)
/// with a pick for every field it names: the update's other fields and the picked ones of
/// "mine" applied onto the site as it now stands, one history row and one audit row naming
/// both authors (and the resolver). `None` when `user` has no such open conflict.
pub async fn resolve(
    client: &mut Object,
    user: &SessionUser,
    id: i64,
    picks: &HashMap<String, Pick>,
    today: NaiveDate,
) -> Result<Option<Applied>, ProgressError> {
    let tx = client.transaction().await?;
    let Some(conflict) = conflicts::lock_resolvable(&tx, user, id).await? else {
        return Ok(None);
    };
    if conflict.kind != "progress" {
        return Ok(None);
    }
    let wrong = conflicts::check_picks(&conflict, picks, |f| {
        merge::FIELDS
            .iter()
            .find(|x| **x == f)
            .copied()
            .unwrap_or("status")
    });
    if !wrong.is_empty() {
        return Err(ProgressError::Rules(wrong));
    }
    // Someone else's conflict: its author's supervisor (an administrator) resolving it.
    let supervising = conflict.author != user.username;
    let site = store::lock_site_as(&tx, user, &conflict.code, supervising).await?;
    if site.version != conflict.theirs_version {
        // The site moved on since the conflict was shown: it shows where it stands now,
        // and the author picks again against that.
        let theirs = conflicts::progress_json(&site.current);
        conflicts::refresh(&tx, id, site.version, &theirs).await?;
        let current = store::state_of(&tx, site.id).await?;
        tx.commit().await?;
        return Err(ProgressError::Conflict {
            expected: conflict.theirs_version,
            current: Box::new(current),
        });
    }
    let mut asked = Asked::from_json(&conflict.mine);
    let theirs = |f: &str| picks.get(f) == Some(&Pick::Theirs);
    if theirs("status") {
        asked.status = None;
    }
    if theirs("percent") {
        asked.percent = None;
    }
    if theirs("actual_start") {
        asked.actual_start = None;
    }
    if theirs("actual_finish") {
        asked.actual_finish = None;
    }
    let text = |k: &str| conflict.mine[k].as_str().map(str::to_string);
    let authors =
        conflicts::authors_since(&tx, site.id, conflict.base_version, &conflict.author).await?;
    let current = &site.current;
    let request = Request {
        code: conflict.code.clone(),
        update: Update {
            status: asked.status.unwrap_or(current.status),
            percent: asked.percent.unwrap_or(i64::from(current.percent)),
            actual_start: asked.actual_start.or(current.actual_start),
            actual_finish: asked.actual_finish.or(current.actual_finish),
            note: text("note"),
            correction_reason: text("correction_reason"),
        },
        keep: Keep::default(),
        expected_version: site.version,
        photos: Vec::new(),
        audit_note: Some(json!({
            "conflict": { "id": id, "mine_by": conflict.author, "theirs_by": authors,
                          "resolved_by": user.username, "picked": picks },
        })),
        supervising,
    };
    let mut applied = store::apply_in(&tx, user, &request, today).await?;
    let resolution = json!({ "picked": picks,
                             "history_id": (applied.history_id != 0).then_some(applied.history_id),
                             "submitted": applied.state.submitted });
    conflicts::mark_resolved(&tx, user, id, &resolution).await?;
    tx.commit().await?;
    store::committed_versions(&*client, std::slice::from_mut(&mut applied)).await?;
    Ok(Some(applied))
}
