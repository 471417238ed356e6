//! An export request, from URL query pairs or the command line's options (turned into the
//! same pairs): strictly read, every mistake a 400 naming the parameter.

use deadpool_postgres::GenericClient;
use serde_json::{json, Map, Value};

use super::format::Format;
use super::profile;
use super::query::Export;
use super::ExchangeError;
use crate::db::features::SiteFilter;
use crate::domain::{Classification, LayerGroup, SiteKind};
use crate::params::ItemsQuery;
use crate::params::ParamError;
use crate::spatial::crs::Crs;

/// The parameters an export takes.
pub const EXPORT_PARAMS: &[&str] = &[
    "profile", "format", "layer", "kind", "status", "district", "phase", "q", "bbox", "bbox-crs",
    "as_of", "crs", "lang",
];

/// A checked request: what to export, in which format, and the filter as given (for the
/// export log).
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub export: Export,
    pub format: Format,
    pub filter_echo: Value,
}

/// Reads `pairs` for a caller cleared up to `clearance`; `format` when the URL's file
/// name already said it.
pub async fn read(
    client: &impl GenericClient,
    pairs: &[(String, String)],
    format: Option<Format>,
    clearance: Classification,
) -> Result<ExportRequest, ExchangeError> {
    let query = ItemsQuery::parse(pairs, EXPORT_PARAMS)?;
    let get = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
    let format = match (format, get("format")) {
        (Some(f), None) => f,
        (Some(f), Some(v)) if Format::from_code(v) == Some(f) => f,
        (Some(_), Some(_)) => {
            return Err(ParamError::new(
                "format",
                "differs from the file name's extension; give one of them",
            )
            .into())
        }
        (None, Some(v)) => Format::from_code(v).ok_or_else(|| {
            ParamError::new(
                "format",
                format!("no format '{v}'; formats are {}", format_list()),
            )
        })?,
        (None, None) => Format::GeoJson,
    };
    let crs = match query.crs {
        Crs::Epsg4326 => Crs::Crs84,
        other => other,
    };
    format
        .accepts(crs)
        .map_err(|reason| ParamError::new("crs", reason))?;
    let name = get("profile").filter(|v| !v.is_empty()).ok_or_else(|| {
        ParamError::new(
            "profile",
            "every export names a partner profile (profile=…); an administrator defines them at /admin/profiles",
        )
    })?;
    let profile = match profile::find(client, name).await? {
        Some(p) if !p.disabled => p,
        Some(_) => {
            return Err(ParamError::new("profile", format!("profile '{name}' is disabled")).into())
        }
        None => return Err(ParamError::new("profile", format!("no profile '{name}'")).into()),
    };
    let as_of = crate::params::parse_as_of(get("as_of"))?;
    let mut kinds = query.kinds.clone();
    if let Some(layers) = get("layer") {
        let mut groups = Vec::new();
        for code in layers.split(',').map(str::trim) {
            let group = LayerGroup::from_code(code).ok_or_else(|| {
                let known: Vec<&str> = LayerGroup::ALL.iter().map(|g| g.code()).collect();
                ParamError::new(
                    "layer",
                    format!("no layer '{code}'; layers are {}", known.join(", ")),
                )
            })?;
            groups.push(group);
        }
        let in_groups = |k: &SiteKind| groups.contains(&k.layer_group());
        kinds = if kinds.is_empty() {
            SiteKind::ALL.iter().copied().filter(in_groups).collect()
        } else {
            kinds.into_iter().filter(in_groups).collect()
        };
        if kinds.is_empty() {
            return Err(
                ParamError::new("kind", "none of these kinds is in the layers given").into(),
            );
        }
    }
    let (district_ids, foreign_area_ids) = if query.districts.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        crate::db::features::resolve_districts(client, &query.districts)
            .await?
            .map_err(|reason| ParamError::new("district", reason))?
    };
    let mut echo = Map::new();
    for (name, value) in pairs {
        if !matches!(name.as_str(), "profile" | "format" | "lang") {
            echo.insert(name.clone(), json!(value));
        }
    }
    Ok(ExportRequest {
        export: Export {
            profile,
            filter: SiteFilter {
                group: None,
                kinds,
                statuses: query.statuses,
                district_ids,
                foreign_area_ids,
                phases: query.phases,
                q: query.q,
                bbox: query.bbox,
                datetime: None,
                clearance: Some(clearance),
            },
            as_of,
            crs,
        },
        format,
        filter_echo: Value::Object(echo),
    })
}

pub fn format_list() -> String {
    Format::ALL
        .iter()
        .map(|f| f.code())
        .collect::<Vec<_>>()
        .join(", ")
}
