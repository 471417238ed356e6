//! The context layers of `geodata/` (embedded in the binary) and their loading
//! into PostGIS: the province, its 9 districts and 94 communes, the border,
//! the neighbouring provinces on both sides, and the rivers.

use serde_json::Value;
use tokio_postgres::{Client, GenericClient};

use crate::db::DbError;

/// Loading the context layers failed: in the database, or in a bundled file (which the
/// binary carries, so a build from a damaged checkout).
#[derive(Debug, thiserror::Error)]
pub enum GeodataError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("geodata/{file}: {reason}")]
    File { file: &'static str, reason: String },
}

impl From<tokio_postgres::Error> for GeodataError {
    fn from(err: tokio_postgres::Error) -> Self {
        GeodataError::Db(err.into())
    }
}

const PROVINCE: &str = include_str!("../geodata/tay_ninh_province.geojson");
const DISTRICTS: &str = include_str!("../geodata/tay_ninh_districts.geojson");
const COMMUNES: &str = include_str!("../geodata/tay_ninh_communes_2020.csv");
const BORDER: &str = include_str!("../geodata/border_vn_kh.geojson");
const CAMBODIA: &str = include_str!("../geodata/cambodia_adjacent.geojson");
const VIETNAM_NEIGHBOURS: &str = include_str!("../geodata/vietnam_adjacent_provinces.geojson");
const RIVERS: &str = include_str!("../geodata/tay_ninh_rivers_gshhg.geojson");

/// Three-letter district abbreviations used in site codes, by GSO code.
pub const DISTRICT_ABBR: &[(&str, &str)] = &[
    ("703", "TNI"),
    ("705", "TBI"),
    ("706", "TCH"),
    ("707", "DMC"),
    ("708", "CTH"),
    ("709", "HTH"),
    ("710", "GDA"),
    ("711", "BCA"),
    ("712", "TBA"),
];

/// The geometry as PostGIS wants it, from a GeoJSON geometry object.
const MULTI_POLYGON: &str = "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($GEOM), 4326))";

fn features(text: &'static str, file: &'static str) -> Result<Vec<Value>, GeodataError> {
    let bad = |reason: String| GeodataError::File { file, reason };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    match value.get("features") {
        Some(Value::Array(features)) => Ok(features.clone()),
        _ => Err(bad("not a FeatureCollection".into())),
    }
}

fn prop<'a>(feature: &'a Value, key: &str) -> Option<&'a str> {
    feature.get("properties")?.get(key)?.as_str()
}

fn geometry(feature: &Value) -> String {
    feature
        .get("geometry")
        .map(Value::to_string)
        .unwrap_or_default()
}

/// Loads every layer in one transaction. Returns `false` (and writes nothing) when
/// the province is already there, so running it twice loads nothing twice.
pub async fn load(client: &mut Client) -> Result<bool, GeodataError> {
    let loaded: i64 = client
        .query_one(
            "SELECT count(*) FROM admin_unit WHERE level = 'province'",
            &[],
        )
        .await?
        .get(0);
    if loaded > 0 {
        return Ok(false);
    }
    let tx = client.transaction().await?;
    load_all(&tx).await?;
    // Tiles of the context layers are cached by this version.
    tx.execute(
        "UPDATE layer_version SET version = version + 1, changed_at = now()
          WHERE layer IN ('province', 'districts', 'border', 'adjacent_provinces', 'rivers', 'labels', 'communes')",
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn load_all(client: &impl GenericClient) -> Result<(), GeodataError> {
    let admin_sql = format!(
        "INSERT INTO admin_unit (level, code, name, short_name, name_en, parent_id, abbr,
                                 borders_cambodia, geom, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {}, $10) RETURNING id",
        MULTI_POLYGON.replace("$GEOM", "$9")
    );
    let insert_admin = client.prepare(&admin_sql).await?;

    let province = features(PROVINCE, "tay_ninh_province.geojson")?;
    let province = province.first().ok_or_else(|| GeodataError::File {
        file: "tay_ninh_province.geojson",
        reason: "no province feature".into(),
    })?;
    let province_id: i32 = client
        .query_one(
            &insert_admin,
            &[
                &"province",
                &prop(province, "ma_tinh"),
                &prop(province, "ten"),
                &prop(province, "ten_ngan"),
                &prop(province, "name_en"),
                &None::<i32>,
                &Some("TNH"),
                &true,
                &geometry(province),
                &prop(province, "source"),
            ],
        )
        .await?
        .get(0);

    for district in features(DISTRICTS, "tay_ninh_districts.geojson")? {
        let code = prop(&district, "ma_huyen");
        let abbr = DISTRICT_ABBR
            .iter()
            .find(|(c, _)| Some(*c) == code)
            .map(|(_, a)| *a);
        let borders = district
            .get("properties")
            .and_then(|p| p.get("giap_campuchia"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        client
            .query_one(
                &insert_admin,
                &[
                    &"district",
                    &code,
                    &prop(&district, "ten"),
                    &prop(&district, "ten_ngan"),
                    &prop(&district, "name_en"),
                    &Some(province_id),
                    &abbr,
                    &borders,
                    &geometry(&district),
                    &prop(&district, "source"),
                ],
            )
            .await?;
    }

    // Communes: names and codes only; their geometry is not openly available.
    let mut reader = csv::Reader::from_reader(COMMUNES.as_bytes());
    for record in reader.records() {
        let record = record.map_err(|e| GeodataError::File {
            file: "tay_ninh_communes_2020.csv",
            reason: e.to_string(),
        })?;
        let field = |i: usize| record.get(i).unwrap_or_default().to_string();
        let (code, name, kind, district) = (field(0), field(1), field(2), field(3));
        let short = name
            .strip_prefix(&format!("{kind} "))
            .unwrap_or(&name)
            .to_string();
        client
            .execute(
                "INSERT INTO admin_unit (level, code, name, short_name, parent_id, source)
                 SELECT 'commune', $1, $2, $3, id, 'GSO list of 01/03/2020 via dvhcvn'
                   FROM admin_unit WHERE level = 'district' AND code = $4",
                &[&code, &name, &short, &district],
            )
            .await?;
    }

    for line in features(BORDER, "border_vn_kh.geojson")? {
        let primary = prop(&line, "left_country") == Some("KHM")
            && !prop(&line, "source")
                .unwrap_or_default()
                .contains("Natural Earth");
        client
            .execute(
                "INSERT INTO border_line (name, name_vi, is_primary, caution, geom, source)
                 VALUES ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)), $6)",
                &[
                    &prop(&line, "name"),
                    &prop(&line, "ten"),
                    &primary,
                    &prop(&line, "caution"),
                    &geometry(&line),
                    &prop(&line, "source"),
                ],
            )
            .await?;
    }

    let area_sql = format!(
        "INSERT INTO adjacent_area (country, code, name, name_vi, name_en, name_km, note, geom, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, {}, $9)",
        MULTI_POLYGON.replace("$GEOM", "$8")
    );
    for area in features(CAMBODIA, "cambodia_adjacent.geojson")? {
        client
            .execute(
                &area_sql,
                &[
                    &"KH",
                    &prop(&area, "adm1_code"),
                    &prop(&area, "name"),
                    &prop(&area, "name_vi"),
                    &prop(&area, "name_en"),
                    &prop(&area, "name_km"),
                    &prop(&area, "note"),
                    &geometry(&area),
                    &prop(&area, "source"),
                ],
            )
            .await?;
    }
    for area in features(VIETNAM_NEIGHBOURS, "vietnam_adjacent_provinces.geojson")? {
        let code = prop(&area, "ma_tinh").map(|c| format!("VN-{c}"));
        client
            .execute(
                &area_sql,
                &[
                    &"VN",
                    &code,
                    &prop(&area, "ten"),
                    &prop(&area, "ten"),
                    &None::<&str>,
                    &None::<&str>,
                    &prop(&area, "note"),
                    &geometry(&area),
                    &prop(&area, "source"),
                ],
            )
            .await?;
    }

    for river in features(RIVERS, "tay_ninh_rivers_gshhg.geojson")? {
        let level = river
            .get("properties")
            .and_then(|p| p.get("gshhg_level"))
            .and_then(Value::as_i64)
            .unwrap_or(0) as i16;
        client
            .execute(
                "INSERT INTO river (gshhg_level, class, geom, source)
                 VALUES ($1, $2, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($3), 4326)), $4)",
                &[
                    &level,
                    &prop(&river, "class"),
                    &geometry(&river),
                    &prop(&river, "source"),
                ],
            )
            .await?;
    }
    Ok(())
}
