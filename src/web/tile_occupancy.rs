//! Where each site layer has works, by zoom-14 cell: a tile no work comes near is answered
//! empty without PostgreSQL (issue 22 §3: two tiles in five over the province at zoom 14
//! hold nothing of a given layer, and asking PostgreSQL to say so cost as much as a full one).
//!
//! Each cell keeps the box of what lies in it (the union of its works' boxes, each cut to
//! the cell), so a tile is empty when no kept box meets it with its buffer, at any zoom the
//! tiles carry works. The cells only grow: every change notice marks the work's boxes
//! before and after (a work moved away leaves its old cell marked, which costs a query,
//! never a wrong tile); a change to a whole layer, or a listener that connects again, has
//! the layer read afresh from PostgreSQL (`rebuild`), and until then the layer's tiles all
//! go to PostgreSQL. Notices that arrive while the layer is read are kept and marked on the
//! result, so nothing committed after the read began is lost.
//!
//! The cells cover every classification: a cell marked by a secret work sends a public
//! caller's tile to PostgreSQL, which answers it as for any tile.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::domain::LayerGroup;
use crate::spatial::tile::WEB_MERCATOR_HALF;

/// The zoom of the cells.
const CELL_ZOOM: u8 = 14;
const CELLS: u32 = 1 << CELL_ZOOM;
/// A box over more cells than this (a broken geometry) gives the layer up until it is read
/// again: its tiles go to PostgreSQL meanwhile.
const MAX_CELLS_PER_BOX: u64 = 1 << 16;

type Box3857 = [f64; 4];

enum Cells {
    /// Not known: every tile goes to PostgreSQL.
    Unknown,
    /// Being read from PostgreSQL (read number `generation`); the boxes notified meanwhile.
    Reading {
        generation: u64,
        pending: Vec<Box3857>,
    },
    /// Each marked cell (by `x << 14 | y`) and the box of what lies in it.
    Known(HashMap<u32, Box3857>),
}

pub struct Occupancy {
    layers: Vec<RwLock<Cells>>,
    generations: AtomicU64,
}

impl Default for Occupancy {
    fn default() -> Self {
        Self {
            layers: LayerGroup::ALL
                .iter()
                .map(|_| RwLock::new(Cells::Unknown))
                .collect(),
            generations: AtomicU64::new(0),
        }
    }
}

fn index(layer: LayerGroup) -> usize {
    LayerGroup::ALL
        .iter()
        .position(|g| *g == layer)
        .unwrap_or_default()
}

fn cell_size() -> f64 {
    2.0 * WEB_MERCATOR_HALF / f64::from(CELLS)
}

/// The cells `bbox` meets (closed boxes: a box on a cell's edge meets both cells), as
/// column and row ranges.
fn cell_range(
    bbox: &Box3857,
) -> Option<(std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>)> {
    if bbox.iter().any(|v| !v.is_finite()) || bbox[0] > bbox[2] || bbox[1] > bbox[3] {
        return None;
    }
    let size = cell_size();
    let column = |x: f64| {
        ((x + WEB_MERCATOR_HALF) / size)
            .floor()
            .clamp(0.0, f64::from(CELLS - 1)) as u32
    };
    let row = |y: f64| {
        ((WEB_MERCATOR_HALF - y) / size)
            .floor()
            .clamp(0.0, f64::from(CELLS - 1)) as u32
    };
    Some((
        column(bbox[0])..=column(bbox[2]),
        row(bbox[3])..=row(bbox[1]),
    ))
}

fn cell_bounds(x: u32, y: u32) -> Box3857 {
    let size = cell_size();
    [
        -WEB_MERCATOR_HALF + f64::from(x) * size,
        WEB_MERCATOR_HALF - f64::from(y + 1) * size,
        -WEB_MERCATOR_HALF + f64::from(x + 1) * size,
        WEB_MERCATOR_HALF - f64::from(y) * size,
    ]
}

/// Marks `bbox` in `cells`; false when it is too large to mark.
fn mark_cells(cells: &mut HashMap<u32, Box3857>, bbox: &Box3857) -> bool {
    let Some((columns, rows)) = cell_range(bbox) else {
        return false;
    };
    let count =
        u64::from(columns.end() - columns.start() + 1) * u64::from(rows.end() - rows.start() + 1);
    if count > MAX_CELLS_PER_BOX {
        return false;
    }
    for x in columns {
        for y in rows.clone() {
            let c = cell_bounds(x, y);
            let cut = [
                bbox[0].max(c[0]),
                bbox[1].max(c[1]),
                bbox[2].min(c[2]),
                bbox[3].min(c[3]),
            ];
            cells
                .entry(x << CELL_ZOOM | y)
                .and_modify(|b| {
                    b[0] = b[0].min(cut[0]);
                    b[1] = b[1].min(cut[1]);
                    b[2] = b[2].max(cut[2]);
                    b[3] = b[3].max(cut[3]);
                })
                .or_insert(cut);
        }
    }
    true
}

impl Occupancy {
    /// True when `layer`'s cells are known and none holds anything within `area`
    /// (EPSG:3857, a tile's bounds with its buffer). False whenever it cannot tell.
    pub fn is_empty(&self, layer: LayerGroup, area: &Box3857) -> bool {
        let Ok(cells) = self.layers[index(layer)].read() else {
            return false;
        };
        let Cells::Known(cells) = &*cells else {
            return false;
        };
        let Some((columns, rows)) = cell_range(area) else {
            return false;
        };
        // A tile at zoom 11 spans 8 × 8 cells, and a few more for its buffer; a tile
        // larger than that is not asked here (clusters are counted, not tested).
        if u64::from(columns.end() - columns.start() + 1) * u64::from(rows.end() - rows.start() + 1)
            > 1024
        {
            return false;
        }
        !columns.into_iter().any(|x| {
            rows.clone().any(|y| {
                cells.get(&(x << CELL_ZOOM | y)).is_some_and(|b| {
                    b[0] <= area[2] && area[0] <= b[2] && b[1] <= area[3] && area[1] <= b[3]
                })
            })
        })
    }

    /// A work of `layer` lies within `bbox` (as it was, or as it is).
    pub fn mark(&self, layer: LayerGroup, bbox: Box3857) {
        let Ok(mut cells) = self.layers[index(layer)].write() else {
            return;
        };
        match &mut *cells {
            Cells::Unknown => {}
            Cells::Reading { pending, .. } => pending.push(bbox),
            Cells::Known(known) => {
                if !mark_cells(known, &bbox) {
                    *cells = Cells::Unknown;
                }
            }
        }
    }

    /// `layer` is about to be read afresh: its tiles go to PostgreSQL until [`Self::read`]
    /// with the number returned.
    pub fn reading(&self, layer: LayerGroup) -> u64 {
        let generation = self.generations.fetch_add(1, Ordering::AcqRel) + 1;
        if let Ok(mut cells) = self.layers[index(layer)].write() {
            *cells = Cells::Reading {
                generation,
                pending: Vec::new(),
            };
        }
        generation
    }

    /// `layer` as read by read number `generation` (every box of its works), unless another
    /// read began since; the boxes notified during the read are marked too.
    pub fn read(&self, layer: LayerGroup, generation: u64, boxes: &[Box3857]) {
        let Ok(mut cells) = self.layers[index(layer)].write() else {
            return;
        };
        let Cells::Reading {
            generation: current,
            pending,
        } = &*cells
        else {
            return;
        };
        if *current != generation {
            return;
        }
        let mut known = HashMap::with_capacity(boxes.len());
        let complete = boxes
            .iter()
            .chain(pending.iter())
            .all(|b| mark_cells(&mut known, b));
        *cells = if complete {
            Cells::Known(known)
        } else {
            Cells::Unknown
        };
    }

    /// Nothing is known of `layer` any more (it changed as a whole): read it again.
    pub fn forget_layer(&self, layer: LayerGroup) {
        if let Ok(mut cells) = self.layers[index(layer)].write() {
            *cells = Cells::Unknown;
        }
    }

    /// Nothing is known any more (the listener is down: changes go unseen).
    pub fn forget(&self) {
        for layer in LayerGroup::ALL {
            self.forget_layer(*layer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::tile::TileCoord;

    const BUFFER: f64 = 64.0 / 4096.0;

    fn known(boxes: &[Box3857]) -> Occupancy {
        let occupancy = Occupancy::default();
        let generation = occupancy.reading(LayerGroup::Land);
        occupancy.read(LayerGroup::Land, generation, boxes);
        occupancy
    }

    /// A point at lon/lat as a box in EPSG:3857.
    fn point(lon: f64, lat: f64) -> Box3857 {
        let x = lon.to_radians() * 6378137.0;
        let y = (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln()
            * 6378137.0;
        [x, y, x, y]
    }

    #[test]
    fn a_tile_is_empty_only_when_nothing_lies_within_its_buffer() {
        let work = point(106.1, 11.3);
        let occupancy = known(&[work]);
        for z in 11..=18 {
            let home = TileCoord::containing(106.1, 11.3, z);
            assert!(
                !occupancy.is_empty(LayerGroup::Land, &home.bounds_3857(BUFFER)),
                "z{z}"
            );
            let far = TileCoord {
                x: home.x + 3,
                ..home
            };
            assert!(
                occupancy.is_empty(LayerGroup::Land, &far.bounds_3857(BUFFER)),
                "z{z}"
            );
            assert!(
                !occupancy.is_empty(LayerGroup::Logistics, &far.bounds_3857(BUFFER)),
                "not read: unknown"
            );
        }
        // A work just beyond a tile's edge, within its buffer: not empty; beyond: empty.
        let tile = TileCoord::containing(106.1, 11.3, 14);
        let b = tile.bounds_3857(0.0);
        let width = b[2] - b[0];
        let near = [
            b[2] + width * 0.01,
            b[1] + 5.0,
            b[2] + width * 0.01,
            b[1] + 5.0,
        ];
        let beyond = [
            b[2] + width * 0.02,
            b[1] + 5.0,
            b[2] + width * 0.02,
            b[1] + 5.0,
        ];
        let empty = TileCoord {
            x: tile.x,
            y: tile.y + 5,
            z: 14,
        };
        assert!(
            known(&[empty.bounds_3857(0.0)]).is_empty(LayerGroup::Land, &tile.bounds_3857(BUFFER))
        );
        assert!(!known(&[near]).is_empty(LayerGroup::Land, &tile.bounds_3857(BUFFER)));
        assert!(known(&[beyond]).is_empty(LayerGroup::Land, &tile.bounds_3857(BUFFER)));
    }

    #[test]
    fn a_long_roads_box_marks_only_the_cells_it_crosses() {
        let tile = TileCoord::containing(106.1, 11.3, 14);
        let b = tile.bounds_3857(0.0);
        let width = b[2] - b[0];
        let road = [
            b[0] - 20.0 * width,
            b[1] + 10.0,
            b[2] + 20.0 * width,
            b[1] + 20.0,
        ];
        let roads = known(&[road]);
        assert!(!roads.is_empty(LayerGroup::Land, &tile.bounds_3857(BUFFER)));
        let above = TileCoord {
            y: tile.y - 2,
            ..tile
        };
        assert!(roads.is_empty(LayerGroup::Land, &above.bounds_3857(BUFFER)));
    }

    #[test]
    fn marks_and_reads_keep_every_work_that_may_lie_there() {
        let occupancy = known(&[]);
        let tile = TileCoord::containing(106.1, 11.3, 14);
        let area = tile.bounds_3857(BUFFER);
        assert!(occupancy.is_empty(LayerGroup::Land, &area));
        occupancy.mark(LayerGroup::Land, point(106.1, 11.3));
        assert!(
            !occupancy.is_empty(LayerGroup::Land, &area),
            "a notice marks it"
        );
        // A read begun: unknown until it ends; a notice meanwhile is kept over the read.
        let generation = occupancy.reading(LayerGroup::Land);
        assert!(!occupancy.is_empty(
            LayerGroup::Land,
            &TileCoord {
                x: tile.x + 9,
                ..tile
            }
            .bounds_3857(BUFFER)
        ));
        occupancy.mark(LayerGroup::Land, point(106.1, 11.3));
        occupancy.read(LayerGroup::Land, generation, &[]);
        assert!(
            !occupancy.is_empty(LayerGroup::Land, &area),
            "marked during the read"
        );
        // A read overtaken by a newer one is not installed.
        let old = occupancy.reading(LayerGroup::Land);
        let new = occupancy.reading(LayerGroup::Land);
        occupancy.read(LayerGroup::Land, old, &[]);
        assert!(
            !occupancy.is_empty(LayerGroup::Land, &area),
            "still reading"
        );
        occupancy.read(LayerGroup::Land, new, &[]);
        assert!(occupancy.is_empty(LayerGroup::Land, &area));
        // A box too large to mark, or the listener gone: nothing is known.
        occupancy.mark(LayerGroup::Land, [-1e7, -1e7, 1e7, 1e7]);
        assert!(!occupancy.is_empty(LayerGroup::Land, &area));
        let occupancy = known(&[]);
        occupancy.forget();
        assert!(!occupancy.is_empty(LayerGroup::Land, &area));
    }
}
