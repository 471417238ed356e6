//! The areas a map filter offers: Tây Ninh's districts, then the Cambodian provinces where
//! search zones lie.

use deadpool_postgres::GenericClient;

use super::DbError;

/// An area to filter by: its code and its name in Vietnamese and in English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaName {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// Districts first, then the Cambodian provinces, each by name.
pub async fn filter_areas(client: &impl GenericClient) -> Result<Vec<AreaName>, DbError> {
    names(
        client,
        "SELECT code, short_name, coalesce(name_en, short_name), 0 AS o FROM admin_unit WHERE level = 'district'
         UNION ALL
         SELECT code, coalesce(name_vi, name), name, 1 FROM adjacent_area WHERE country = 'KH'
         ORDER BY 4, 2",
    )
    .await
}

/// Tây Ninh's districts by name: the scopes a dashboard or report offers.
pub async fn districts(client: &impl GenericClient) -> Result<Vec<AreaName>, DbError> {
    names(
        client,
        "SELECT code, short_name, coalesce(name_en, short_name) FROM admin_unit
          WHERE level = 'district' ORDER BY short_name",
    )
    .await
}

async fn names(client: &impl GenericClient, sql: &str) -> Result<Vec<AreaName>, DbError> {
    Ok(client
        .query(sql, &[])
        .await?
        .iter()
        .map(|r| AreaName {
            code: r.get(0),
            name_vi: r.get(1),
            name_en: r.get(2),
        })
        .collect())
}
