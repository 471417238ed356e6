//! `/api`, kvpt's own operations beside the OGC ones (`openapi.rs`): progress, search
//! zones, budget lines, field sync and photos, exports, imports, dashboards' CSV, conflicts,
//! the signed-in user, the map style. Pages, the forms they post and static assets are for
//! people, not programs, and are left out (tests/it/api_document.rs lists them).

use serde_json::{json, Map, Value};

use super::openapi::{path_param, query, with_errors, writers};

fn op(id: &str, summary: &str) -> Value {
    json!({ "operationId": id, "summary": summary })
}

fn lang() -> Value {
    query(
        "lang",
        "Language of messages: vi (default) or en",
        json!({ "type": "string", "enum": ["vi", "en", ""] }),
    )
}

fn code() -> Value {
    path_param(
        "code",
        "A work's code (CHOT-TBI-0012)",
        json!({ "type": "string" }),
    )
}

/// What a dashboard table is asked with: the table, the day, the flags' thresholds and
/// the scope.
fn dashboard_params() -> Vec<Value> {
    // Blank is "all", as in the page's forms.
    let text = |s: &[&str]| {
        let choices: Vec<&str> = s.iter().copied().chain([""]).collect();
        json!({ "type": "string", "enum": choices })
    };
    let programmes: Vec<&str> = crate::domain::Programme::ALL
        .iter()
        .map(|p| p.code())
        .collect();
    let kinds: Vec<&str> = crate::domain::SiteKind::PLACED
        .iter()
        .map(|k| k.code())
        .collect();
    vec![
        lang(),
        query(
            "table",
            "Which table (by_kind when blank or not given)",
            text(&["by_kind", "by_district", "plan", "ceilings", "flags", "search", "land"]),
        ),
        query(
            "as_of",
            "The figures as they stood at the end of this day (yyyy-mm-dd or dd/mm/yyyy); now when not given",
            json!({ "type": "string" }),
        ),
        query(
            "ahead",
            "Disbursement ahead of progress by more than this many percentage points is flagged (1–100)",
            json!({ "type": "string" }),
        ),
        query(
            "stale",
            "Works not updated for more than this many days are flagged (1–3650)",
            json!({ "type": "string" }),
        ),
        query("programme", "Only the works of this programme", text(&programmes)),
        query(
            "district",
            "Only the works of this district (its GSO code)",
            json!({ "type": "string", "pattern": "^ *[0-9]{0,5} *$" }),
        ),
        query("kind", "Only the works of this kind", text(&kinds)),
    ]
}

fn idempotency() -> Value {
    json!({ "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "A key the client makes for this write (a UUID): the same key again within a day gets the first answer again, and nothing is written twice",
            "schema": { "type": "string", "maxLength": 200 } })
}

fn json_ok(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "type": "object" } } } })
}

fn typed_ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// A problem an import or a write found, with the field it is about, in both languages.
fn problem() -> Value {
    json!({ "type": "object", "required": ["field", "vi", "en"], "properties": {
        "field": { "type": "string" }, "vi": { "type": "string" }, "en": { "type": "string" } } })
}

/// An import's report (`/api/imports`, `/api/imports/{id}`).
fn import_report() -> Value {
    let problems = json!({ "type": "array", "items": problem() });
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({ "type": "object",
        "required": ["id", "file_name", "dry_run", "outcome", "layers", "file_errors", "warnings", "counts", "rows", "rows_left_out"],
        "properties": {
        "id": { "type": "integer" }, "file_name": { "type": "string" },
        "format": { "type": "string", "nullable": true }, "dry_run": { "type": "boolean" },
        "outcome": { "type": "string", "enum": ["checked", "refused", "committed", "failed"] },
        "layers": { "type": "array", "items": { "type": "object", "required": ["name", "features"], "properties": {
            "name": { "type": "string" }, "features": count, "crs": { "type": "string", "nullable": true } } } },
        "encoding": { "type": "object", "nullable": true, "required": ["chosen", "how", "candidates"], "properties": {
            "chosen": { "type": "string" }, "label": { "type": "string" },
            "how": { "type": "string", "enum": ["chosen", "cpg", "detected"] },
            "candidates": { "type": "array", "items": { "type": "object" } } } },
        "file_errors": problems, "warnings": problems,
        "counts": { "type": "object", "required": ["features", "insert", "update", "unchanged", "refused"], "properties": {
            "features": count, "insert": count, "update": count, "unchanged": count, "refused": count } },
        "rows": { "type": "array", "items": { "type": "object",
            "required": ["row", "layer", "index", "action", "changes", "errors", "warnings"], "properties": {
            "row": count, "layer": { "type": "string" }, "index": count,
            "code": { "type": "string", "nullable": true }, "action": { "type": "string" },
            "changes": { "type": "array", "items": { "type": "string" } },
            "errors": problems, "warnings": problems } } },
        "rows_left_out": count } })
}

/// One line of the export log.
fn export_log_row() -> Value {
    let text = json!({ "type": "string" });
    let maybe_text = json!({ "type": "string", "nullable": true });
    let maybe_int = json!({ "type": "integer", "nullable": true });
    json!({ "type": "object",
        "required": ["id", "started_at", "actor", "via", "profile", "profile_version", "format", "crs", "outcome"],
        "properties": {
        "id": { "type": "integer" }, "started_at": { "type": "string", "format": "date-time" },
        "finished_at": { "type": "string", "format": "date-time", "nullable": true },
        "actor": text, "via": text, "profile": text, "profile_version": { "type": "integer" },
        "format": text, "crs": text, "filter": { "description": "The filter the export was cut with" },
        "outcome": text, "features": maybe_int, "bytes": maybe_int,
        "sha256": maybe_text, "error": maybe_text } })
}

/// An offline update that met a newer one.
fn conflict() -> Value {
    let figures = json!({ "type": "object", "description": "The figures: status, percent and dates, or a search zone's" });
    json!({ "type": "object",
        "required": ["id", "kind", "code", "author", "fields", "base_version", "theirs_version", "base", "theirs", "mine", "created_at", "resolved"],
        "properties": {
        "id": { "type": "integer" }, "kind": { "type": "string", "enum": ["progress", "search"] },
        "code": { "type": "string" }, "author": { "type": "string" },
        "fields": { "type": "array", "items": { "type": "string" } },
        "base_version": { "type": "integer" }, "theirs_version": { "type": "integer" },
        "base": figures, "theirs": figures, "mine": figures,
        "created_at": { "type": "string", "format": "date-time" }, "resolved": { "type": "boolean" } } })
}

/// A search zone's figures and version.
fn zone_state() -> Value {
    let date = json!({ "type": "string", "format": "date", "nullable": true });
    json!({ "type": "object", "required": ["code", "version", "remains_expected", "remains_found", "area_concluded_ha", "map_drawn"],
        "properties": {
        "code": { "type": "string" }, "version": { "type": "integer" },
        "remains_expected": { "type": "integer" }, "remains_found": { "type": "integer" },
        "area_concluded_ha": { "type": "number" }, "map_drawn": { "type": "boolean" },
        "map_drawn_on": date, "concluded_on": date,
        "unit_in_charge": { "type": "string", "nullable": true },
        "zone_ha": { "type": "number", "nullable": true } } })
}

/// What `GET` and `PATCH /api/sites/{code}/progress` answer.
fn progress_state() -> Value {
    json!({ "type": "object", "required": ["code", "status", "percent", "version"], "properties": {
        "code": { "type": "string" }, "status": { "type": "string" },
        "percent": { "type": "integer", "minimum": 0, "maximum": 100 },
        "actual_start": { "type": "string", "format": "date", "nullable": true },
        "actual_finish": { "type": "string", "format": "date", "nullable": true },
        "version": { "type": "integer" }, "updated_at": { "type": "string" } } })
}

fn file_ok(description: &str, types: &[&str]) -> Value {
    let content: Map<String, Value> = types
        .iter()
        .map(|t| {
            (
                t.to_string(),
                json!({ "schema": { "type": "string", "format": "binary" } }),
            )
        })
        .collect();
    json!({ "description": description, "content": content })
}

/// The errors every operation of a signed-in user may meet, and `extra`.
fn errors(responses: Value, extra: &[(&str, &str)]) -> Value {
    let responses = with_errors(
        responses,
        &[
            ("400", "A parameter or the body is malformed: `field` names it"),
            ("401", "Sign in first, or send a token"),
            ("403", "Your role, districts, clearance or token scope does not allow it, or the CSRF token is missing"),
            ("404", "No such work, or none you may see"),
            ("429", "Too many failed tokens or sign-ins from your address lately"),
            ("503", "The database is unavailable; retry after the `Retry-After` seconds"),
        ],
    );
    with_errors(responses, extra)
}

/// A write's extra refusals: a newer version (409), broken rules (422), too large (413).
const WRITE: &[(&str, &str)] = &[
    (
        "409",
        "The work changed since the version you sent: the answer carries the newest figures",
    ),
    ("413", "The body is too large"),
    ("415", "The body is not of a type this operation takes"),
    ("422", "The rules refused it: each broken rule is named"),
];

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn date() -> Value {
    json!({ "type": "string", "format": "date", "nullable": true })
}

/// A progress update (`PATCH /api/sites/{code}/progress`, and each queued one of the sync).
fn progress_body() -> Value {
    let statuses: Vec<&str> = crate::domain::SiteStatus::ALL
        .iter()
        .map(|s| s.code())
        .collect();
    json!({ "type": "object", "additionalProperties": false, "properties": {
        "version": { "type": "integer", "description": "The version the work must be at (else 409 with the newest figures)" },
        "base_version": { "type": "integer", "description": "The version the update was made from (a phone's queue): merged with what changed since" },
        "status": { "type": "string", "enum": statuses },
        "percent": { "type": "integer", "minimum": 0, "maximum": 100 },
        "actual_start": date(), "actual_finish": date(),
        "note": { "type": "string", "nullable": true },
        "correction_reason": { "type": "string", "nullable": true, "description": "Why a figure goes backwards" } } })
}

fn search_body() -> Value {
    json!({ "type": "object", "additionalProperties": false, "properties": {
        "version": { "type": "integer" }, "base_version": { "type": "integer" },
        "remains_expected": { "type": "integer", "minimum": 0 }, "remains_found": { "type": "integer", "minimum": 0 },
        "area_concluded_ha": { "type": "number", "minimum": 0 }, "map_drawn": { "type": "boolean" },
        "map_drawn_on": date(), "concluded_on": date(),
        "unit_in_charge": { "type": "string", "nullable": true },
        "note": { "type": "string", "nullable": true }, "correction_reason": { "type": "string", "nullable": true } } })
}

fn budget_body() -> Value {
    let vnd = json!({ "type": "integer", "minimum": 0, "description": "VND" });
    json!({ "type": "object", "additionalProperties": false,
        "required": ["estimate", "allocated", "disbursed", "settled", "version"], "properties": {
        "estimate": vnd, "allocated": vnd, "disbursed": vnd, "settled": vnd,
        "version": { "type": "integer", "minimum": 0, "description": "The line's version as read; 0 for a new line" } } })
}

fn sync_body() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["updates"], "properties": {
        "updates": { "type": "array", "items": { "type": "object", "additionalProperties": false,
            "required": ["code", "key", "body"], "properties": {
                "code": { "type": "string", "description": "The work's code" },
                "key": { "type": "string", "description": "The update's Idempotency-Key, made on the phone" },
                "body": { "type": "string", "description": "The PATCH body as JSON text, byte for byte" } } } } } })
}

fn resolve_body() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["picks"], "properties": {
        "picks": { "type": "object", "description": "For each field the conflict names, which to keep",
                   "additionalProperties": { "type": "string", "enum": ["mine", "theirs"] } } } })
}

fn writing(mut operation: Value, parameters: Vec<Value>, body: Value, ok: Value) -> Value {
    operation["parameters"] = json!(parameters);
    operation["requestBody"] = body;
    operation["security"] = writers();
    operation["responses"] = errors(json!({ "200": ok }), WRITE);
    operation
}

fn reading(mut operation: Value, parameters: Vec<Value>, ok: Value) -> Value {
    operation["parameters"] = json!(parameters);
    operation["responses"] = errors(json!({ "200": ok }), &[]);
    operation
}

/// kvpt's own paths.
pub fn paths() -> Map<String, Value> {
    let id = |name: &str, what: &str| path_param(name, what, json!({ "type": "integer" }));
    let csv = &["text/csv"];
    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, operation: Value| {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = operation;
    };
    add(
        "/api/me",
        "get",
        reading(
            op(
                "getMe",
                "The signed-in user: name, role, clearance, districts, the CSRF token for writes",
            ),
            vec![],
            typed_ok(
                "The user",
                json!({ "type": "object", "required": ["username", "role", "clearance", "csrf_token"], "properties": {
                "username": { "type": "string" }, "display_name": { "type": "string" }, "role": { "type": "string" },
                "clearance": { "type": "string", "enum": ["public", "internal", "confidential", "secret"] },
                "unit": { "type": "string", "nullable": true }, "csrf_token": { "type": "string" } } }),
            ),
        ),
    );
    add(
        "/style.json",
        "get",
        reading(
            op(
                "getStyle",
                "The map's MapLibre style (layers, sources, glyphs all served by kvpt)",
            ),
            vec![lang()],
            json_ok("The style"),
        ),
    );
    add(
        "/api/sites/{code}/progress",
        "get",
        reading(
            op(
                "getProgress",
                "A work's status, percent, dates and version, as its update form starts from",
            ),
            vec![code()],
            typed_ok("The work's progress", progress_state()),
        ),
    );
    add("/api/sites/{code}/progress", "patch", writing(op("updateProgress", "Report progress: status, percent, dates, note, correction reason, from the version you read"), vec![code(), idempotency()], json_body(progress_body()), json_ok("Recorded: the work's new progress")));
    add(
        "/api/progress/bulk",
        "post",
        writing(
            op(
                "bulkProgress",
                "Progress of many works from a CSV (the template's columns): all or nothing",
            ),
            vec![lang(), idempotency()],
            json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } }),
            json_ok("What was recorded, or each refused row"),
        ),
    );
    add(
        "/api/progress/template.csv",
        "get",
        reading(
            op(
                "getProgressTemplate",
                "The bulk progress CSV, with the works you may update",
            ),
            vec![lang()],
            file_ok("The template", csv),
        ),
    );
    add(
        "/api/search/template.csv",
        "get",
        reading(
            op(
                "getSearchTemplate",
                "The bulk search-figures CSV, with the zones you may update",
            ),
            vec![lang()],
            file_ok("The template", csv),
        ),
    );
    add("/api/sites/{code}/search", "get", reading(op("getSearchZone", "A search zone's figures (remains expected and found, area concluded, map, conclusion) and version"), vec![code()], typed_ok("The figures", zone_state())));
    add(
        "/api/sites/{code}/search",
        "put",
        writing(
            op(
                "updateSearchZone",
                "A search zone's figures, from the version you read",
            ),
            vec![code(), idempotency()],
            json_body(search_body()),
            json_ok("Recorded: the new figures; with review on, kept for review as `submitted` (the zone as it stands)"),
        ),
    );
    add("/api/sites/{code}/budget/{year}/{source}", "put", writing(op("putBudgetLine", "A work's budget line for a year and funding source: estimate, allocated, disbursed, settled (VND), from the version you read"),
        vec![code(), path_param("year", "The plan year", json!({ "type": "integer", "minimum": 2000, "maximum": 2100 })),
             path_param("source", "The funding source", json!({ "type": "string" })), idempotency()], json_body(budget_body()), json_ok("Recorded: the line")));
    add("/api/sync/progress", "post", writing(op("syncProgress", "The field app's queue: many updates made offline, each with its client id and the version it was based on; conflicts kept for a supervisor"), vec![],
        json_body(sync_body()), typed_ok("Each update's outcome, in order (each as its PATCH would have answered); `stopped` says where and why the batch stopped, if it did",
            json!({ "type": "object", "required": ["answers"], "properties": {
                "answers": { "type": "array", "items": { "type": "object", "required": ["key", "status", "body"], "properties": {
                    "key": { "type": "string" }, "status": { "type": "integer" }, "body": {} } } },
                "stopped": { "type": "object", "nullable": true, "properties": { "at": { "type": "integer" }, "error": { "type": "string" } } } } }))));
    add(
        "/api/sites/{code}/photos",
        "post",
        writing(
            op(
                "addPhoto",
                "A photo of a work (JPEG, resized on the phone), for an update",
            ),
            vec![code(), idempotency()],
            json!({ "required": true, "content": { "multipart/form-data": { "schema": { "type": "object" } } } }),
            json_ok("The stored photo"),
        ),
    );
    add(
        "/api/conflicts",
        "get",
        reading(
            op(
                "getConflicts",
                "Offline updates that met a newer one, waiting for a supervisor",
            ),
            vec![],
            typed_ok(
                "The conflicts",
                json!({ "type": "object", "required": ["conflicts"], "properties": {
                "conflicts": { "type": "array", "items": conflict() } } }),
            ),
        ),
    );
    add(
        "/api/conflicts/{id}",
        "post",
        writing(
            op(
                "resolveConflict",
                "A supervisor keeps the offline update or the newer one",
            ),
            vec![id("id", "The conflict")],
            json_body(resolve_body()),
            json_ok("Resolved"),
        ),
    );
    for (path, id_, what) in [
        (
            "/photos/{id}",
            "getPhoto",
            "A photo as shown (resized, location kept only for those cleared)",
        ),
        (
            "/photos/{id}/thumb",
            "getPhotoThumbnail",
            "A photo's thumbnail",
        ),
        (
            "/photos/{id}/original",
            "getPhotoOriginal",
            "A photo as it was sent",
        ),
    ] {
        add(
            path,
            "get",
            reading(
                op(id_, what),
                vec![id("id", "The photo")],
                file_ok("The photo", &["image/jpeg"]),
            ),
        );
    }
    add(
        "/dashboard.csv",
        "get",
        reading(
            op(
                "getDashboardCsv",
                "One table of the dashboard's figures, as CSV: works by kind or district, the plan by year × source, the medium-term ceilings against the allocations, the flags, the remains search",
            ),
            dashboard_params(),
            file_ok("The figures", csv),
        ),
    );
    add(
        "/public/budget.csv",
        "get",
        reading(
            op(
                "getPublicBudgetCsv",
                "The public budget disclosure, as CSV (public works only)",
            ),
            vec![lang()],
            file_ok("The disclosure", csv),
        ),
    );
    add(
        "/exports/count",
        "get",
        reading(
            op(
                "countExport",
                "How many works an export with these parameters would hold",
            ),
            vec![lang()],
            typed_ok(
                "The count",
                json!({ "type": "object", "required": ["features"], "properties": {
                "features": { "type": "integer", "minimum": 0 } } }),
            ),
        ),
    );
    add("/exports/{file}", "get", reading(op("getExport", "Works as a GIS file for a partner: sites.geojson, .gpkg, .shp.zip, .kml, .csv or .fgb, cut to the partner profile; logged"),
        vec![path_param("file", "sites. followed by the format's extension", json!({ "type": "string" })), lang()],
        file_ok("The file", &["application/geo+json", "application/geopackage+sqlite3", "application/zip", "application/vnd.google-earth.kml+xml", "text/csv", "application/octet-stream"])));
    add("/api/exports/log", "get", reading(op("getExportLog", "The export log: who exported what, when, for whom, and the file's hash (administrators)"), vec![],
        typed_ok("The last 500 exports", json!({ "type": "array", "items": export_log_row() }))));
    add(
        "/api/imports/jobs/{token}",
        "get",
        reading(
            op(
                "getImportJob",
                "An import under way, on whichever instance runs it: state, stage and progress, then its report",
            ),
            vec![path_param(
                "token",
                "The job's token",
                json!({ "type": "string" }),
            )],
            typed_ok("The job: running, done (its report's page), failed, or interrupted (the instance running it stopped: nothing was written); stage 0 reading, 1 checking, 2 writing, 3 done", json!({
                "type": "object", "required": ["state", "stage", "done", "total"], "properties": {
                "state": { "type": "string", "enum": ["running", "done", "failed", "interrupted"] },
                "stage": { "type": "integer", "minimum": 0, "maximum": 3 }, "done": { "type": "integer" }, "total": { "type": "integer" },
                "report": { "type": "string", "nullable": true }, "error": { "type": "string", "nullable": true } } })),
        ),
    );
    add(
        "/api/imports/{id}",
        "get",
        reading(
            op(
                "getImportReport",
                "An import's report: every row checked, what was written or refused and why",
            ),
            vec![id("id", "The import")],
            typed_ok("The report", import_report()),
        ),
    );
    paths
}
