//! `filter` on the works' items (OGC API – Features Part 3): CQL2 text or JSON, parsed by the
//! `cql2` crate and checked here against the collection's queryables into a typed tree,
//! [`Filter`], that `db/` writes as parameterised SQL. Nothing a user typed reaches SQL as
//! text: properties become fixed column expressions, every literal a bound value.
//!
//! Offered: the boolean operators; comparisons `= <> < <= > >=`, `LIKE`, `BETWEEN`, `IN`,
//! `IS NULL`; `CASEI` and `ACCENTI` (Vietnamese with or without diacritics); every spatial
//! operator `S_INTERSECTS` … `S_CROSSES` and `S_DWITHIN(a, b, metres)`; every temporal
//! operator `T_AFTER` … `T_INTERSECTS` on the date and time properties. Arithmetic and
//! arrays are not: a 400 says so.

use chrono::{DateTime, NaiveDate, Utc};
use cql2::Expr;

use super::ParamError;
use crate::spatial::crs::{Bbox, Crs};

/// The type of a queryable, as the JSON Schema of `/queryables` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Text,
    Integer,
    Number,
    Boolean,
    Date,
    Timestamp,
    Geometry,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Integer => "an integer",
            Type::Number => "a number",
            Type::Boolean => "a boolean",
            Type::Date => "a date",
            Type::Timestamp => "a timestamp",
            Type::Geometry => "a geometry",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, Type::Integer | Type::Number)
    }

    fn is_temporal(self) -> bool {
        matches!(self, Type::Date | Type::Timestamp)
    }
}

/// A property a filter may name.
#[derive(Debug, PartialEq, Eq)]
pub struct Queryable {
    pub name: &'static str,
    pub ty: Type,
    pub description: &'static str,
}

const fn q(name: &'static str, ty: Type, description: &'static str) -> Queryable {
    Queryable {
        name,
        ty,
        description,
    }
}

/// The queryables of every works collection: the properties of an item, with the same names.
pub const SITE_QUERYABLES: &[Queryable] = &[
    q("code", Type::Text, "The work's code, also the feature id"),
    q("name", Type::Text, "Vietnamese name"),
    q("name_en", Type::Text, "English name"),
    q("kind", Type::Text, "Kind of work (code)"),
    q("layer", Type::Text, "Map layer (layer group code)"),
    q("status", Type::Text, "Status (code)"),
    q("percent", Type::Integer, "Progress, percent"),
    q(
        "district",
        Type::Text,
        "District, or Cambodian province, by name",
    ),
    q(
        "district_code",
        Type::Text,
        "District or Cambodian province code",
    ),
    q("commune", Type::Text, "Commune name"),
    q("country", Type::Text, "VN or KH"),
    q("phase", Type::Integer, "Programme phase"),
    q("programme", Type::Text, "Programme"),
    q("responsible_unit", Type::Text, "Responsible unit"),
    q("classification", Type::Text, "Classification level"),
    q("planned_start", Type::Date, "Planned start"),
    q("planned_finish", Type::Date, "Planned finish"),
    q("actual_start", Type::Date, "Actual start"),
    q("actual_finish", Type::Date, "Actual finish"),
    q(
        "updated_at",
        Type::Timestamp,
        "Last update; the property the datetime parameter filters on",
    ),
    q("version", Type::Integer, "Row version"),
    q(
        "estimate_vnd",
        Type::Integer,
        "Budget estimate, VND, all years",
    ),
    q("allocated_vnd", Type::Integer, "Allocated, VND, all years"),
    q("disbursed_vnd", Type::Integer, "Disbursed, VND, all years"),
    q("settled_vnd", Type::Integer, "Settled, VND, all years"),
    q("geometry", Type::Geometry, "The work's geometry"),
];

/// Longest filter taken (a district's outline written as WKT fits well within it).
pub const MAX_FILTER_BYTES: usize = 256 * 1024;
/// Most operators and values in one filter.
const MAX_NODES: usize = 2_000;
/// Deepest nesting of parentheses (a multipolygon needs three).
const MAX_DEPTH: usize = 40;

/// A checked filter: a condition on the works.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Bool(bool),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare(Comparison, Value, Value),
    Like(Value, Value),
    Between(Value, Value, Value),
    In(Value, Vec<Value>),
    IsNull(Value),
    Spatial(SpatialOp, Geom, Geom),
    /// Within a distance in metres, on the ellipsoid.
    DWithin(Geom, Geom, f64),
    Temporal(TemporalOp, Time, Time),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub fn sql(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "<>",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// A scalar: a property or a literal, maybe folded for case or accents.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Property(&'static Queryable),
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    CaseI(Box<Value>),
    AccentI(Box<Value>),
}

impl Value {
    pub fn ty(&self) -> Type {
        match self {
            Value::Property(q) => q.ty,
            Value::Text(_) | Value::CaseI(_) | Value::AccentI(_) => Type::Text,
            Value::Number(_) => Type::Number,
            Value::Bool(_) => Type::Boolean,
            Value::Date(_) => Type::Date,
            Value::Timestamp(_) => Type::Timestamp,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpatialOp {
    Intersects,
    Equals,
    Disjoint,
    Touches,
    Within,
    Overlaps,
    Crosses,
    Contains,
}

impl SpatialOp {
    const ALL: [(&'static str, SpatialOp); 8] = [
        ("s_intersects", SpatialOp::Intersects),
        ("s_equals", SpatialOp::Equals),
        ("s_disjoint", SpatialOp::Disjoint),
        ("s_touches", SpatialOp::Touches),
        ("s_within", SpatialOp::Within),
        ("s_overlaps", SpatialOp::Overlaps),
        ("s_crosses", SpatialOp::Crosses),
        ("s_contains", SpatialOp::Contains),
    ];
}

/// A geometry: the work's, a literal (GeoJSON text in `crs`), or a box.
#[derive(Debug, Clone, PartialEq)]
pub enum Geom {
    Property,
    Literal { geojson: String, crs: Crs },
    Bbox(Bbox),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalOp {
    After,
    Before,
    Contains,
    Disjoint,
    During,
    Equals,
    FinishedBy,
    Finishes,
    Intersects,
    Meets,
    MetBy,
    OverlappedBy,
    Overlaps,
    StartedBy,
    Starts,
}

impl TemporalOp {
    const ALL: [(&'static str, TemporalOp); 15] = [
        ("t_after", TemporalOp::After),
        ("t_before", TemporalOp::Before),
        ("t_contains", TemporalOp::Contains),
        ("t_disjoint", TemporalOp::Disjoint),
        ("t_during", TemporalOp::During),
        ("t_equals", TemporalOp::Equals),
        ("t_finishedby", TemporalOp::FinishedBy),
        ("t_finishes", TemporalOp::Finishes),
        ("t_intersects", TemporalOp::Intersects),
        ("t_meets", TemporalOp::Meets),
        ("t_metby", TemporalOp::MetBy),
        ("t_overlappedby", TemporalOp::OverlappedBy),
        ("t_overlaps", TemporalOp::Overlaps),
        ("t_startedby", TemporalOp::StartedBy),
        ("t_starts", TemporalOp::Starts),
    ];
}

/// A point or stretch of time; `None` ends of an interval are open (`'..'`).
#[derive(Debug, Clone, PartialEq)]
pub enum Time {
    /// A date or timestamp property: an instant.
    Property(&'static Queryable),
    Instant(DateTime<Utc>),
    Interval(Option<DateTime<Utc>>, Option<DateTime<Utc>>),
}

/// Reads `filter` in `lang` (`cql2-text`, the default, or `cql2-json`), its geometries in
/// `crs` (CRS84 unless `filter-crs` says otherwise), against `queryables`.
pub fn parse(
    filter: &str,
    lang: Option<&str>,
    crs: Option<&str>,
    queryables: &'static [Queryable],
) -> Result<Filter, ParamError> {
    let crs = match crs {
        Some(v) => Crs::parse(v).map_err(|e| ParamError::new("filter-crs", e.to_string()))?,
        None => Crs::Crs84,
    };
    if filter.len() > MAX_FILTER_BYTES {
        return Err(bad(format!(
            "is longer than {} KiB; simplify its geometries",
            MAX_FILTER_BYTES / 1024
        )));
    }
    let expr = match lang.unwrap_or("cql2-text") {
        // `cql-text` is the draft's name, which GDAL 3.6 sends.
        "cql2-text" | "cql-text" => {
            check_depth(filter)?;
            cql2::parse_text(filter).map_err(syntax)?
        }
        "cql2-json" => cql2::parse_json(filter).map_err(|e| {
            bad(format!(
                "is not CQL2 JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?,
        other => {
            return Err(ParamError::new(
                "filter-lang",
                format!("must be cql2-text or cql2-json, not '{other}'"),
            ))
        }
    };
    let mut reader = Reader {
        queryables,
        crs,
        nodes: 0,
    };
    reader.condition(&expr)
}

fn bad(reason: impl Into<String>) -> ParamError {
    ParamError::new("filter", reason)
}

/// Parentheses nested deeper than [`MAX_DEPTH`] are refused before parsing, which recurses.
fn check_depth(text: &str) -> Result<(), ParamError> {
    let (mut depth, mut quoted) = (0usize, false);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' | '[' if !quoted => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(bad(format!(
                        "nests parentheses deeper than {MAX_DEPTH} (at character {})",
                        text[..i].chars().count() + 1
                    )));
                }
            }
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn syntax(err: cql2::Error) -> ParamError {
    match err {
        cql2::Error::Pest(e) => {
            let (line, column) = match e.line_col {
                pest::error::LineColLocation::Pos(p) => p,
                pest::error::LineColLocation::Span(p, _) => p,
            };
            bad(format!(
                "is not CQL2 text: at line {line}, column {column}: {}",
                e.variant.message()
            ))
        }
        other => bad(format!("is not CQL2 text: {other}")),
    }
}

struct Reader {
    queryables: &'static [Queryable],
    crs: Crs,
    nodes: usize,
}

/// How an expression is written back in CQL2 text, to say where a mistake is.
fn shown(e: &Expr) -> String {
    let text = e.to_text().unwrap_or_else(|_| format!("{e:?}"));
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}…")
    } else {
        text
    }
}

impl Reader {
    fn count(&mut self) -> Result<(), ParamError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(bad(format!(
                "has more than {MAX_NODES} operators and values"
            )));
        }
        Ok(())
    }

    fn property(&self, name: &str) -> Result<&'static Queryable, ParamError> {
        self.queryables
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.queryables.iter().map(|q| q.name).collect();
                bad(format!(
                    "no property '{name}'; the queryables are {}",
                    names.join(", ")
                ))
            })
    }

    fn condition(&mut self, e: &Expr) -> Result<Filter, ParamError> {
        self.count()?;
        let (op, args) = match e {
            Expr::Bool(b) => return Ok(Filter::Bool(*b)),
            Expr::Operation { op, args } => (op.to_ascii_lowercase(), args),
            other => {
                return Err(bad(format!(
                    "'{}' is not a condition (true or false)",
                    shown(other)
                )))
            }
        };
        let arity = |n: usize| -> Result<(), ParamError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(bad(format!(
                    "{op} takes {n} arguments, not {}, in '{}'",
                    args.len(),
                    shown(e)
                )))
            }
        };
        let filter = match op.as_str() {
            "and" | "or" => {
                let parts = args
                    .iter()
                    .map(|a| self.condition(a))
                    .collect::<Result<Vec<_>, _>>()?;
                if op == "and" {
                    Filter::And(parts)
                } else {
                    Filter::Or(parts)
                }
            }
            "not" => {
                arity(1)?;
                Filter::Not(Box::new(self.condition(&args[0])?))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                arity(2)?;
                let comparison = match op.as_str() {
                    "=" => Comparison::Eq,
                    "<>" => Comparison::Ne,
                    "<" => Comparison::Lt,
                    "<=" => Comparison::Le,
                    ">" => Comparison::Gt,
                    _ => Comparison::Ge,
                };
                let (a, b) = self.pair(&args[0], &args[1], e)?;
                if matches!(a.ty(), Type::Boolean)
                    && comparison != Comparison::Eq
                    && comparison != Comparison::Ne
                {
                    return Err(bad(format!("booleans are not ordered, in '{}'", shown(e))));
                }
                Filter::Compare(comparison, a, b)
            }
            "like" => {
                arity(2)?;
                let (a, b) = self.pair(&args[0], &args[1], e)?;
                if a.ty() != Type::Text {
                    return Err(bad(format!(
                        "LIKE compares text, and '{}' is {}",
                        shown(&args[0]),
                        a.ty().name()
                    )));
                }
                check_pattern(&b)?;
                Filter::Like(a, b)
            }
            "between" => {
                arity(3)?;
                let (a, low) = self.pair(&args[0], &args[1], e)?;
                let (_, high) = self.pair(&args[0], &args[2], e)?;
                if !(a.ty().is_numeric() || a.ty().is_temporal()) {
                    return Err(bad(format!(
                        "BETWEEN takes numbers or dates, and '{}' is {}",
                        shown(&args[0]),
                        a.ty().name()
                    )));
                }
                Filter::Between(a, low, high)
            }
            "in" => {
                arity(2)?;
                let Expr::Array(items) = &*args[1] else {
                    return Err(bad(format!("IN needs a list in '{}'", shown(e))));
                };
                if items.is_empty() {
                    return Err(bad(format!("IN has an empty list in '{}'", shown(e))));
                }
                let mut first = None;
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    let (a, b) = self.pair(&args[0], item, e)?;
                    first.get_or_insert(a);
                    list.push(b);
                }
                Filter::In(first.expect("a non-empty list"), list)
            }
            "isnull" => {
                arity(1)?;
                Filter::IsNull(self.value(&args[0])?)
            }
            "s_dwithin" => {
                arity(3)?;
                let metres = match &*args[2] {
                    Expr::Float(m) if m.is_finite() && *m >= 0.0 => *m,
                    other => {
                        return Err(bad(format!(
                            "S_DWITHIN's third argument is a distance in metres, not '{}'",
                            shown(other)
                        )))
                    }
                };
                Filter::DWithin(self.geom(&args[0])?, self.geom(&args[1])?, metres)
            }
            s if s.starts_with("s_") => {
                let Some((_, spatial)) = SpatialOp::ALL.iter().find(|(n, _)| *n == s) else {
                    return Err(unknown_function(e));
                };
                arity(2)?;
                Filter::Spatial(*spatial, self.geom(&args[0])?, self.geom(&args[1])?)
            }
            t if t.starts_with("t_") => {
                let Some((_, temporal)) = TemporalOp::ALL.iter().find(|(n, _)| *n == t) else {
                    return Err(unknown_function(e));
                };
                arity(2)?;
                Filter::Temporal(*temporal, self.time(&args[0])?, self.time(&args[1])?)
            }
            "+" | "-" | "*" | "/" | "%" | "^" | "div" => {
                return Err(bad(format!(
                    "arithmetic ({op}) is not offered, in '{}'",
                    shown(e)
                )))
            }
            a if a.starts_with("a_") => {
                return Err(bad(format!(
                    "array operators ({op}) are not offered: no queryable is an array"
                )))
            }
            "casei" | "accenti" => {
                return Err(bad(format!(
                    "'{}' is text, not a condition: compare it with something",
                    shown(e)
                )))
            }
            _ => return Err(unknown_function(e)),
        };
        Ok(filter)
    }

    /// Two values that can be compared: the same type, both numbers, or a text literal
    /// read as the date or timestamp it is compared with.
    fn pair(&mut self, a: &Expr, b: &Expr, whole: &Expr) -> Result<(Value, Value), ParamError> {
        let a = self.value(a)?;
        let b = self.value(b)?;
        let a = coerce(a, &b)?;
        let b = coerce(b, &a)?;
        let (ta, tb) = (a.ty(), b.ty());
        if ta == tb || (ta.is_numeric() && tb.is_numeric()) {
            if ta == Type::Geometry {
                return Err(bad(format!(
                    "geometries are compared with S_INTERSECTS and the other spatial operators, in '{}'",
                    shown(whole)
                )));
            }
            Ok((a, b))
        } else {
            Err(bad(format!(
                "'{}' compares {} with {}",
                shown(whole),
                ta.name(),
                tb.name()
            )))
        }
    }

    fn value(&mut self, e: &Expr) -> Result<Value, ParamError> {
        self.count()?;
        Ok(match e {
            Expr::Property { property } => Value::Property(self.property(property)?),
            Expr::Literal(s) => Value::Text(s.clone()),
            Expr::Float(f) if f.is_finite() => Value::Number(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Date { date } => Value::Date(date_of(date)?),
            Expr::Timestamp { timestamp } => Value::Timestamp(timestamp_of(timestamp)?),
            Expr::Operation { op, args }
                if op.eq_ignore_ascii_case("casei") || op.eq_ignore_ascii_case("accenti") =>
            {
                if args.len() != 1 {
                    return Err(bad(format!("{op} takes one argument, in '{}'", shown(e))));
                }
                let inner = self.value(&args[0])?;
                if inner.ty() != Type::Text {
                    return Err(bad(format!(
                        "{} folds text, and '{}' is {}",
                        op.to_ascii_uppercase(),
                        shown(&args[0]),
                        inner.ty().name()
                    )));
                }
                if op.eq_ignore_ascii_case("casei") {
                    Value::CaseI(Box::new(inner))
                } else {
                    Value::AccentI(Box::new(inner))
                }
            }
            Expr::Null => {
                return Err(bad(
                    "NULL is not a value to compare with: write 'property IS NULL'",
                ))
            }
            Expr::Operation { op, .. }
                if ["+", "-", "*", "/", "%", "^", "div"].contains(&op.as_str()) =>
            {
                return Err(bad(format!(
                    "arithmetic ({op}) is not offered, in '{}'",
                    shown(e)
                )))
            }
            other => {
                return Err(bad(format!(
                    "'{}' is not a property or a text, number, boolean, date or timestamp",
                    shown(other)
                )))
            }
        })
    }

    fn geom(&mut self, e: &Expr) -> Result<Geom, ParamError> {
        self.count()?;
        match e {
            Expr::Property { property } => {
                let q = self.property(property)?;
                if q.ty == Type::Geometry {
                    Ok(Geom::Property)
                } else {
                    Err(bad(format!(
                        "'{property}' is {}, not a geometry; the works' geometry is 'geometry'",
                        q.ty.name()
                    )))
                }
            }
            Expr::Geometry(g) => {
                let value = serde_json::to_value(g)
                    .map_err(|err| bad(format!("a geometry could not be read: {err}")))?;
                check_geometry(&value)?;
                check_range(&value["coordinates"], self.crs)?;
                for part in value["geometries"].as_array().into_iter().flatten() {
                    check_range(&part["coordinates"], self.crs)?;
                }
                Ok(Geom::Literal {
                    geojson: value.to_string(),
                    crs: self.crs,
                })
            }
            Expr::BBox { bbox } => {
                let numbers = bbox
                    .iter()
                    .map(|n| match &**n {
                        Expr::Float(f) => Ok(f.to_string()),
                        other => Err(bad(format!("BBOX takes numbers, not '{}'", shown(other)))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                super::bbox::parse_bbox(&numbers.join(","), self.crs)
                    .map(Geom::Bbox)
                    .map_err(|err| bad(format!("BBOX: {}", err.en)))
            }
            other => Err(bad(format!(
                "'{}' is not a geometry: give the property 'geometry', a WKT or GeoJSON geometry, or BBOX(…)",
                shown(other)
            ))),
        }
    }

    fn time(&mut self, e: &Expr) -> Result<Time, ParamError> {
        self.count()?;
        match e {
            Expr::Property { property } => {
                let q = self.property(property)?;
                if q.ty.is_temporal() {
                    Ok(Time::Property(q))
                } else {
                    Err(bad(format!(
                        "'{property}' is {}, not a date or timestamp; the time properties are {}",
                        q.ty.name(),
                        self.queryables
                            .iter()
                            .filter(|q| q.ty.is_temporal())
                            .map(|q| q.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
            Expr::Date { date } => Ok(Time::Instant(midnight(date_of(date)?))),
            Expr::Timestamp { timestamp } => Ok(Time::Instant(timestamp_of(timestamp)?)),
            Expr::Interval { interval } if interval.len() == 2 => {
                let end = |e: &Expr| -> Result<Option<DateTime<Utc>>, ParamError> {
                    match e {
                        Expr::Literal(s) if s == ".." => Ok(None),
                        Expr::Literal(s) => instant(s).map(Some),
                        Expr::Date { date } => date_of(date).map(|d| Some(midnight(d))),
                        Expr::Timestamp { timestamp } => timestamp_of(timestamp).map(Some),
                        other => Err(bad(format!(
                            "an INTERVAL's ends are dates, timestamps or '..', not '{}'",
                            shown(other)
                        ))),
                    }
                };
                let (start, finish) = (end(&interval[0])?, end(&interval[1])?);
                if let (Some(s), Some(f)) = (start, finish) {
                    if s > f {
                        return Err(bad(format!("'{}' ends before it starts", shown(e))));
                    }
                }
                Ok(Time::Interval(start, finish))
            }
            other => Err(bad(format!(
                "'{}' is not a time: give a date or timestamp property, DATE(…), TIMESTAMP(…) or INTERVAL(…, …)",
                shown(other)
            ))),
        }
    }
}

/// A text literal compared with a date or timestamp is read as one.
fn coerce(v: Value, other: &Value) -> Result<Value, ParamError> {
    match (&v, other.ty()) {
        (Value::Text(s), Type::Date) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| {
                bad(format!(
                    "'{s}' is compared with a date: write it as 2024-01-31"
                ))
            }),
        (Value::Text(s), Type::Timestamp) => instant(s).map(Value::Timestamp),
        _ => Ok(v),
    }
}

fn unknown_function(e: &Expr) -> ParamError {
    let op = match e {
        Expr::Operation { op, .. } => op.as_str(),
        _ => "?",
    };
    bad(format!(
        "no function or operator '{op}'; offered are AND, OR, NOT, comparisons, LIKE, BETWEEN, IN, IS NULL, CASEI, ACCENTI, S_INTERSECTS, S_EQUALS, S_DISJOINT, S_TOUCHES, S_WITHIN, S_OVERLAPS, S_CROSSES, S_CONTAINS, S_DWITHIN and the T_ operators"
    ))
}

fn literal_text(e: &Expr) -> Result<&str, ParamError> {
    match e {
        Expr::Literal(s) => Ok(s),
        other => Err(bad(format!(
            "'{}' should be a quoted date or time",
            shown(other)
        ))),
    }
}

fn date_of(e: &Expr) -> Result<NaiveDate, ParamError> {
    let s = literal_text(e)?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| bad(format!("DATE('{s}') is not a date like 2024-01-31")))
}

fn timestamp_of(e: &Expr) -> Result<DateTime<Utc>, ParamError> {
    instant(literal_text(e)?)
}

fn instant(s: &str) -> Result<DateTime<Utc>, ParamError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(midnight(d));
    }
    Err(bad(format!(
        "'{s}' is not a timestamp like 2024-01-31T08:00:00Z or a date like 2024-01-31"
    )))
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// A LIKE pattern may not end in its escape character (`\\`), which PostgreSQL refuses.
fn check_pattern(pattern: &Value) -> Result<(), ParamError> {
    match pattern {
        Value::Text(p) => {
            let trailing = p.chars().rev().take_while(|c| *c == '\\').count();
            if trailing % 2 == 1 {
                return Err(bad(format!(
                    "the LIKE pattern '{p}' ends in \\, which escapes nothing; write \\\\ for a backslash"
                )));
            }
            Ok(())
        }
        Value::CaseI(inner) | Value::AccentI(inner) => check_pattern(inner),
        _ => Ok(()),
    }
}

/// Every position within the CRS's domain: degrees on the globe, metres within reach of
/// a plane CRS's origin (where PostGIS can bring them back to degrees).
fn check_range(coordinates: &serde_json::Value, crs: Crs) -> Result<(), ParamError> {
    if let Some(items) = coordinates.as_array() {
        if let (Some(x), Some(y)) = (
            items.first().and_then(serde_json::Value::as_f64),
            items.get(1).and_then(serde_json::Value::as_f64),
        ) {
            let (x, y) = if crs.lat_first() { (y, x) } else { (x, y) };
            let inside = if crs.is_geographic() {
                x.abs() <= 180.0 && y.abs() <= 90.0
            } else {
                let limit = if crs == Crs::Epsg3857 {
                    20_037_508.35
                } else {
                    1.0e7
                };
                x.abs() <= limit && y.abs() <= limit
            };
            if !inside {
                return Err(bad(format!(
                    "a geometry's position ({x}, {y}) lies outside {}",
                    crs.uri()
                )));
            }
            return Ok(());
        }
        items.iter().try_for_each(|i| check_range(i, crs))?;
    }
    Ok(())
}

/// A literal geometry (GeoJSON) PostGIS can read: finite 2D or 3D positions, lines of two
/// points or more, rings closed with four or more.
fn check_geometry(g: &serde_json::Value) -> Result<(), ParamError> {
    use serde_json::Value as J;
    fn position(p: &J) -> Result<(), ParamError> {
        match p.as_array() {
            Some(c)
                if (2..=3).contains(&c.len())
                    && c.iter().all(|n| n.as_f64().is_some_and(f64::is_finite)) =>
            {
                Ok(())
            }
            _ => Err(bad(format!(
                "a geometry has the position {p}; give x y (or x y z) numbers"
            ))),
        }
    }
    fn list(v: &J) -> Result<&Vec<J>, ParamError> {
        match v.as_array() {
            Some(items) if !items.is_empty() => Ok(items),
            _ => Err(bad("a geometry is empty")),
        }
    }
    fn line(l: &J) -> Result<(), ParamError> {
        let points = list(l)?;
        points.iter().try_for_each(position)?;
        if points.len() < 2 {
            return Err(bad("a line of a geometry has fewer than two points"));
        }
        Ok(())
    }
    fn polygon(p: &J) -> Result<(), ParamError> {
        list(p)?.iter().try_for_each(|ring| {
            line(ring)?;
            let points = list(ring)?;
            if points.len() < 4 || points.first() != points.last() {
                return Err(bad(
                    "a polygon's ring must be closed (its last point its first) and have four points or more",
                ));
            }
            Ok(())
        })
    }
    let coordinates = &g["coordinates"];
    match g["type"].as_str() {
        Some("Point") => position(coordinates),
        Some("MultiPoint") => list(coordinates)?.iter().try_for_each(position),
        Some("LineString") => line(coordinates),
        Some("MultiLineString") => list(coordinates)?.iter().try_for_each(line),
        Some("Polygon") => polygon(coordinates),
        Some("MultiPolygon") => list(coordinates)?.iter().try_for_each(polygon),
        Some("GeometryCollection") => list(&g["geometries"])?.iter().try_for_each(check_geometry),
        _ => Err(bad(format!("'{g}' is not a GeoJSON geometry"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Filter, ParamError> {
        parse(text, None, None, SITE_QUERYABLES)
    }

    #[test]
    fn conditions_are_read_into_typed_trees() {
        let f = read("name LIKE 'Đồn%' AND percent >= 50").unwrap();
        let Filter::And(parts) = f else { panic!() };
        assert!(
            matches!(&parts[0], Filter::Like(Value::Property(q), Value::Text(t)) if q.name == "name" && t == "Đồn%")
        );
        assert!(
            matches!(&parts[1], Filter::Compare(Comparison::Ge, _, Value::Number(n)) if *n == 50.0)
        );
        assert!(matches!(
            read("planned_start < '2024-01-31'").unwrap(),
            Filter::Compare(Comparison::Lt, _, Value::Date(_))
        ));
        assert!(matches!(
            read("T_INTERSECTS(updated_at, INTERVAL('2024-01-01', '..'))").unwrap(),
            Filter::Temporal(
                TemporalOp::Intersects,
                Time::Property(_),
                Time::Interval(Some(_), None)
            )
        ));
        assert!(matches!(
            read("S_INTERSECTS(geometry, POLYGON((106 11, 107 11, 107 12, 106 11)))").unwrap(),
            Filter::Spatial(SpatialOp::Intersects, Geom::Property, Geom::Literal { .. })
        ));
        let json = r#"{"op":"s_within","args":[{"property":"geometry"},{"bbox":[106,11,107,12]}]}"#;
        assert!(matches!(
            parse(json, Some("cql2-json"), None, SITE_QUERYABLES).unwrap(),
            Filter::Spatial(SpatialOp::Within, Geom::Property, Geom::Bbox(_))
        ));
    }

    #[test]
    fn mistakes_say_where_they_are() {
        for (text, says) in [
            ("nam = 'x'", "no property 'nam'"),
            ("percent = 'nhiều'", "compares an integer with text"),
            ("name = 'x' AND", "line 1, column 15"),
            ("percent + 1 > 2", "arithmetic (+)"),
            (
                "S_INTERSECTS(name, POINT(1 2))",
                "'name' is text, not a geometry",
            ),
            (
                "T_BEFORE(name, DATE('2024-01-01'))",
                "not a date or timestamp",
            ),
            ("planned_start < DATE('2024-13-01')", "not a date"),
            (
                "S_INTERSECTS(geometry, POLYGON((1 1, 2 2, 1 1)))",
                "four points",
            ),
            (
                "S_INTERSECTS(geometry, BBOX(107, 11, 106, 12))",
                "BBOX: the western edge",
            ),
            ("FOO(name)", "no function or operator 'FOO'"),
            ("name LIKE 'a\\'", "ends in"),
            ("S_INTERSECTS(geometry, POINT(200 11))", "lies outside"),
            ("name = NULL", "IS NULL"),
            (
                "T_INTERSECTS(updated_at, INTERVAL('2025-01-01', '2024-01-01'))",
                "ends before it starts",
            ),
        ] {
            let err = read(text).expect_err(text);
            assert_eq!(err.param, "filter", "{text}");
            assert!(err.en.contains(says), "{text}: {}", err.en);
        }
        let deep = format!("{}name = 'x'{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(read(&deep).unwrap_err().en.contains("deeper"));
        let err = parse("name = 'x'", Some("ecql"), None, SITE_QUERYABLES).unwrap_err();
        assert_eq!(err.param, "filter-lang");
        let err = parse("name = 'x'", None, Some("EPSG:9999"), SITE_QUERYABLES).unwrap_err();
        assert_eq!(err.param, "filter-crs");
    }
}
