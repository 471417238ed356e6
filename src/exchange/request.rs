//! An export request: the checked parameters (`params::export::ExportQuery`, from the URL
//! or the command line's options) with the partner profile and the districts they name
//! looked up.

use deadpool_postgres::GenericClient;

use super::profile;
use super::query::Export;
use super::ExchangeError;
use crate::db::features::SiteFilter;
use crate::domain::Classification;
use crate::params::export::ExportQuery;
use crate::params::format::Format;
use crate::params::ParamError;

/// A checked request: what to export, in which format, and the filter as given (for the
/// export log).
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub export: Export,
    pub format: Format,
    pub filter_echo: serde_json::Value,
}

/// The export `query` asks for, for a caller cleared up to `clearance`: its profile (which
/// must exist and be enabled) and its districts found.
pub async fn read(
    client: &impl GenericClient,
    query: ExportQuery,
    clearance: Classification,
) -> Result<ExportRequest, ExchangeError> {
    let name = &query.profile;
    let profile = match profile::find(client, name).await? {
        Some(p) if !p.disabled => p,
        Some(_) => {
            return Err(ParamError::new("profile", format!("profile '{name}' is disabled")).into())
        }
        None => return Err(ParamError::new("profile", format!("no profile '{name}'")).into()),
    };
    let items = query.items;
    let (district_ids, foreign_area_ids) = if items.districts.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        crate::db::features::resolve_districts(client, &items.districts)
            .await?
            .map_err(|reason| ParamError::new("district", reason))?
    };
    Ok(ExportRequest {
        export: Export {
            profile,
            filter: SiteFilter {
                group: None,
                kinds: query.kinds,
                statuses: items.statuses,
                district_ids,
                foreign_area_ids,
                phases: items.phases,
                programmes: items.programmes,
                q: items.q,
                bbox: items.bbox,
                datetime: None,
                cql: items.filter,
                clearance: Some(clearance),
            },
            as_of: query.as_of,
            crs: query.crs,
        },
        format: query.format,
        filter_echo: query.echo,
    })
}
