//! The parameters of an export (`/exports/sites.{ext}`, `kvpt export`): the items filters,
//! the partner profile, the format and CRS, layers and `as_of`, read strictly.

use serde_json::{json, Map, Value};

use super::format::Format;
use super::{parse_as_of, ItemsQuery, ParamError};
use crate::domain::{LayerGroup, SiteKind};
use crate::spatial::crs::Crs;

/// The parameters an export takes.
pub const EXPORT_PARAMS: &[&str] = &[
    "profile",
    "format",
    "layer",
    "kind",
    "status",
    "district",
    "phase",
    "programme",
    "q",
    "bbox",
    "bbox-crs",
    "as_of",
    "crs",
    "lang",
];

/// An export as asked for, every value checked; the profile and districts by name, for
/// the exchange to look up.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    pub items: ItemsQuery,
    pub profile: String,
    pub format: Format,
    pub crs: Crs,
    /// The kinds asked for, narrowed to the layers asked for.
    pub kinds: Vec<SiteKind>,
    pub as_of: Option<chrono::NaiveDate>,
    /// The filter as given, for the export log.
    pub echo: Value,
}

impl ExportQuery {
    /// Reads `pairs`; `format` when the URL's file name already said it.
    pub fn parse(pairs: &[(String, String)], format: Option<Format>) -> Result<Self, ParamError> {
        let items = ItemsQuery::parse(pairs, EXPORT_PARAMS)?;
        let get = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
        let format = format_of(format, get("format"))?;
        let crs = match items.crs {
            Crs::Epsg4326 => Crs::Crs84,
            other => other,
        };
        format
            .accepts(crs)
            .map_err(|reason| ParamError::new("crs", reason))?;
        let profile = get("profile").filter(|v| !v.is_empty()).ok_or_else(|| {
            ParamError::new(
                "profile",
                "every export names a partner profile (profile=…); an administrator defines them at /admin/profiles",
            )
        })?;
        let as_of = parse_as_of(get("as_of"))?;
        let kinds = kinds_in_layers(items.kinds.clone(), get("layer"))?;
        let mut echo = Map::new();
        for (name, value) in pairs {
            if !matches!(name.as_str(), "profile" | "format" | "lang") {
                echo.insert(name.clone(), json!(value));
            }
        }
        Ok(Self {
            items,
            profile: profile.to_string(),
            format,
            crs,
            kinds,
            as_of,
            echo: Value::Object(echo),
        })
    }
}

/// The format the file name and the `format` parameter name (they must agree), GeoJSON
/// when neither does.
fn format_of(from_name: Option<Format>, given: Option<&str>) -> Result<Format, ParamError> {
    match (from_name, given) {
        (Some(f), None) => Ok(f),
        (Some(f), Some(v)) if Format::from_code(v) == Some(f) => Ok(f),
        (Some(_), Some(_)) => Err(ParamError::new(
            "format",
            "differs from the file name's extension; give one of them",
        )),
        (None, Some(v)) => Format::from_code(v).ok_or_else(|| {
            let known: Vec<&str> = Format::ALL.iter().map(|f| f.code()).collect();
            ParamError::new(
                "format",
                format!("no format '{v}'; formats are {}", known.join(", ")),
            )
        }),
        (None, None) => Ok(Format::GeoJson),
    }
}

/// `kinds` (every kind when none) narrowed to the layers `layer=` names.
fn kinds_in_layers(
    kinds: Vec<SiteKind>,
    layers: Option<&str>,
) -> Result<Vec<SiteKind>, ParamError> {
    let Some(layers) = layers else {
        return Ok(kinds);
    };
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
    let kinds: Vec<SiteKind> = if kinds.is_empty() {
        SiteKind::PLACED.iter().copied().filter(in_groups).collect()
    } else {
        kinds.into_iter().filter(in_groups).collect()
    };
    if kinds.is_empty() {
        return Err(ParamError::new(
            "kind",
            "none of these kinds is in the layers given",
        ));
    }
    Ok(kinds)
}
