//! GIS files written through GDAL from the export query's rows: GeoPackage, zipped
//! Shapefile, KML, CSV and FlatGeobuf. Runs on a blocking thread, fed rows through a
//! bounded channel, so memory stays flat; the file is built in a private folder and
//! handed back as one path to stream.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::vector::{
    Feature, FieldDefn, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use gdal::{Dataset, DriverManager, Metadata};
use tokio_postgres::Row;

use super::fields::{Field, FieldType};
use crate::params::format::Format;
use crate::spatial::crs::Crs;

/// What the writer needs to know besides the rows.
pub struct GisFile {
    pub format: Format,
    pub crs: Crs,
    pub fields: Vec<&'static Field>,
    /// Name and value pairs written as the file's metadata (and metadata.txt in a zip).
    pub metadata: Vec<(String, String)>,
    /// A folder of its own, removed by the caller.
    pub dir: PathBuf,
}

/// The layer name every export uses (one per geometry type in a Shapefile).
pub const LAYER: &str = "kvpt_sites";

impl GisFile {
    /// Writes every row received, then closes the file (zipping a Shapefile); returns
    /// the path to send and how many features it holds.
    pub fn write(
        &self,
        mut rows: tokio::sync::mpsc::Receiver<Row>,
    ) -> anyhow::Result<(PathBuf, u64)> {
        let driver_name = self.format.driver().expect("a GDAL format");
        let driver = DriverManager::get_driver_by_name(driver_name)?;
        let target = match self.format {
            Format::Shapefile => self.dir.join("shp"),
            other => self.dir.join(format!("sites.{}", other.code())),
        };
        if self.format == Format::Shapefile {
            std::fs::create_dir_all(&target)?;
        }
        let mut dataset = driver.create_vector_only(&target)?;
        let srs = self.srs()?;
        let mut count = 0u64;
        if self.format == Format::GeoPackage {
            for (key, value) in &self.metadata {
                dataset.set_metadata_item(key, value, "")?;
            }
            let mut tx = dataset.start_transaction()?;
            count = self.fill(&mut tx, &srs, &mut rows)?;
            tx.commit()?;
        } else {
            count += self.fill(&mut dataset, &srs, &mut rows)?;
        }
        dataset.close()?;
        match self.format {
            Format::Shapefile => {
                let zip_path = self.dir.join("sites.shp.zip");
                self.zip_folder(&target, &zip_path)?;
                Ok((zip_path, count))
            }
            _ => Ok((target, count)),
        }
    }

    fn srs(&self) -> anyhow::Result<SpatialRef> {
        let mut srs = SpatialRef::from_epsg(self.crs.srid() as u32)?;
        srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        Ok(srs)
    }

    fn layer_options(&self) -> Vec<String> {
        let description = self
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        match self.format {
            Format::Shapefile => vec!["ENCODING=UTF-8".into()],
            Format::Csv => vec!["GEOMETRY=AS_WKT".into(), "WRITE_BOM=YES".into()],
            Format::GeoPackage => vec![format!("DESCRIPTION={description}")],
            Format::FlatGeobuf => vec!["SPATIAL_INDEX=YES".into()],
            _ => vec![],
        }
    }

    /// The name a field takes in this format.
    fn field_name(&self, field: &Field) -> &'static str {
        match self.format {
            Format::Shapefile => field.short,
            _ => field.name,
        }
    }

    fn create_layer(
        &self,
        dataset: &mut Dataset,
        srs: &SpatialRef,
        name: &str,
        ty: OGRwkbGeometryType::Type,
    ) -> anyhow::Result<usize> {
        let options = self.layer_options();
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let layer = dataset.create_layer(LayerOptions {
            name,
            srs: Some(srs),
            ty,
            options: Some(&options),
        })?;
        for field in &self.fields {
            let ty = match (field.ty, self.format) {
                (FieldType::Text, _) => OGRFieldType::OFTString,
                // KML has no 64-bit integers nor dates: doubles (exact to 2^53) and ISO text.
                (FieldType::Integer, Format::Kml) => OGRFieldType::OFTReal,
                (FieldType::Date | FieldType::DateTime, Format::Kml) => OGRFieldType::OFTString,
                (FieldType::Integer, _) => OGRFieldType::OFTInteger64,
                (FieldType::Real, _) => OGRFieldType::OFTReal,
                (FieldType::Date, _) => OGRFieldType::OFTDate,
                // A DBF has no date-time type: ISO 8601 text keeps the time.
                (FieldType::DateTime, Format::Shapefile) => OGRFieldType::OFTString,
                (FieldType::DateTime, _) => OGRFieldType::OFTDateTime,
            };
            let defn = FieldDefn::new(self.field_name(field), ty)?;
            if field.ty == FieldType::Text && self.format == Format::Shapefile {
                defn.set_width(254);
            }
            defn.add_to_layer(&layer)?;
        }
        if self.format == Format::Csv {
            for axis in ["x", "y"] {
                let defn = FieldDefn::new(axis, OGRFieldType::OFTReal)?;
                defn.add_to_layer(&layer)?;
            }
        }
        Ok(dataset.layer_count() - 1)
    }

    fn fill(
        &self,
        dataset: &mut Dataset,
        srs: &SpatialRef,
        rows: &mut tokio::sync::mpsc::Receiver<Row>,
    ) -> anyhow::Result<u64> {
        // A Shapefile holds one geometry type: a layer for each that occurs, made when
        // its first work arrives. Other formats take every type in one layer.
        let mut layers: [Option<usize>; 3] = [None; 3];
        let mut single = None;
        let mut count = 0;
        let n = self.fields.len();
        while let Some(row) = rows.blocking_recv() {
            let wkb: &[u8] = row.get(n);
            let geometry = Geometry::from_wkb(wkb)?;
            let index = if self.format == Format::Shapefile {
                let (slot, name, ty) = shapefile_layer_of(&geometry);
                match layers[slot] {
                    Some(i) => i,
                    None => {
                        let i = self.create_layer(dataset, srs, name, ty)?;
                        layers[slot] = Some(i);
                        i
                    }
                }
            } else {
                match single {
                    Some(i) => i,
                    None => {
                        let i =
                            self.create_layer(dataset, srs, LAYER, OGRwkbGeometryType::wkbUnknown)?;
                        single = Some(i);
                        i
                    }
                }
            };
            let layer = dataset.layer(index)?;
            let mut feature = Feature::new(layer.defn())?;
            for (i, field) in self.fields.iter().enumerate() {
                set_field(&mut feature, i, field, &row, self.format)?;
            }
            if self.format == Format::Csv {
                feature.set_field_double(n, row.get::<_, f64>(n + 1))?;
                feature.set_field_double(n + 1, row.get::<_, f64>(n + 2))?;
            }
            feature.set_geometry(geometry)?;
            feature.create(&layer)?;
            count += 1;
        }
        if count == 0 {
            // An empty export is still a valid file with its fields.
            match self.format {
                Format::Shapefile => {
                    self.create_layer(
                        dataset,
                        srs,
                        "kvpt_sites_point",
                        OGRwkbGeometryType::wkbPoint,
                    )?;
                }
                _ => {
                    self.create_layer(dataset, srs, LAYER, OGRwkbGeometryType::wkbUnknown)?;
                }
            }
        }
        Ok(count)
    }

    fn zip_folder(&self, folder: &Path, zip_path: &Path) -> anyhow::Result<()> {
        let file = std::fs::File::create(zip_path)?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let now = chrono::Local::now().naive_local();
        use chrono::{Datelike, Timelike};
        let stamp = zip::DateTime::from_date_and_time(
            now.year() as u16,
            now.month() as u8,
            now.day() as u8,
            now.hour() as u8,
            now.minute() as u8,
            now.second() as u8,
        )
        .unwrap_or_default();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(stamp);
        let mut names: Vec<PathBuf> = std::fs::read_dir(folder)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for path in names {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| anyhow::anyhow!("unreadable file name in {}", folder.display()))?;
            zip.start_file(name, options)?;
            std::io::copy(&mut std::fs::File::open(&path)?, &mut zip)?;
        }
        zip.start_file("metadata.txt", options)?;
        for (key, value) in &self.metadata {
            writeln!(zip, "{key}: {value}")?;
        }
        zip.finish()?.flush()?;
        Ok(())
    }
}

/// The Shapefile layer a geometry goes to: slot, layer name and type.
fn shapefile_layer_of(geometry: &Geometry) -> (usize, &'static str, OGRwkbGeometryType::Type) {
    use OGRwkbGeometryType as T;
    match gdal::vector::geometry_type_flatten(geometry.geometry_type()) {
        T::wkbPoint | T::wkbMultiPoint => (0, "kvpt_sites_point", T::wkbPoint),
        T::wkbLineString | T::wkbMultiLineString => (1, "kvpt_sites_line", T::wkbMultiLineString),
        _ => (2, "kvpt_sites_polygon", T::wkbMultiPolygon),
    }
}

fn set_field(
    feature: &mut Feature,
    i: usize,
    field: &Field,
    row: &Row,
    format: Format,
) -> gdal::errors::Result<()> {
    match field.ty {
        FieldType::Text => match row.get::<_, Option<&str>>(i) {
            Some(v) => feature.set_field_string(i, v),
            None => feature.set_field_null(i),
        },
        FieldType::Integer => match row.get::<_, Option<i64>>(i) {
            Some(v) if format == Format::Kml => feature.set_field_double(i, v as f64),
            Some(v) => feature.set_field_integer64(i, v),
            None => feature.set_field_null(i),
        },
        FieldType::Real => match row.get::<_, Option<f64>>(i) {
            Some(v) => feature.set_field_double(i, v),
            None => feature.set_field_null(i),
        },
        FieldType::Date => match row.get::<_, Option<NaiveDate>>(i) {
            Some(v) => feature.set_field_string(i, &v.format("%Y-%m-%d").to_string()),
            None => feature.set_field_null(i),
        },
        FieldType::DateTime => match row.get::<_, Option<DateTime<Utc>>>(i) {
            Some(v) if format == Format::Shapefile => {
                feature.set_field_string(i, &v.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            Some(v) => feature.set_field_datetime(i, v.fixed_offset()),
            None => feature.set_field_null(i),
        },
    }
}
