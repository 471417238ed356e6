//! The report's map figure, drawn by kvpt itself (no tile server, no network): the
//! province, its districts and the border as lines, and each work of the scope as a dot in
//! its status's colour, on a plain background, as a PNG. Pure.

use image::{Rgb, RgbImage};

use crate::domain::SiteStatus;

/// Width and height of the figure in pixels (about 16 × 12 cm at 150 dpi).
pub const SIZE: (u32, u32) = (960, 720);

/// A line of the figure's background and how it is drawn.
pub struct Outline {
    /// "province", "district" or "border".
    pub kind: String,
    pub points: Vec<(f64, f64)>,
}

/// Projects longitude/latitude into the figure: equirectangular around the middle
/// latitude (at this scale indistinguishable from the web maps), the bounds fitted with a
/// margin.
struct Frame {
    west: f64,
    north: f64,
    scale: f64,
    squeeze: f64,
    left: f64,
    top: f64,
}

impl Frame {
    fn new(bounds: [f64; 4]) -> Self {
        let [west, south, east, north] = bounds;
        let squeeze = ((south + north) / 2.0).to_radians().cos();
        let (w, h) = (f64::from(SIZE.0) - 40.0, f64::from(SIZE.1) - 40.0);
        let span_x = ((east - west) * squeeze).max(1e-6);
        let span_y = (north - south).max(1e-6);
        let scale = (w / span_x).min(h / span_y);
        Self {
            west,
            north,
            scale,
            squeeze,
            left: 20.0 + (w - span_x * scale) / 2.0,
            top: 20.0 + (h - span_y * scale) / 2.0,
        }
    }

    fn pixel(&self, (lon, lat): (f64, f64)) -> (f64, f64) {
        (
            self.left + (lon - self.west) * self.squeeze * self.scale,
            self.top + (self.north - lat) * self.scale,
        )
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, colour);
    }
}

/// A line `width` pixels wide from `a` to `b`.
fn segment(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), width: i64, colour: Rgb<u8>) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as i64).max(1);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for dx in 0..width {
            for dy in 0..width {
                put(
                    img,
                    x as i64 + dx - width / 2,
                    y as i64 + dy - width / 2,
                    colour,
                );
            }
        }
    }
}

/// A filled dot of `radius` pixels with a white rim.
fn dot(img: &mut RgbImage, (x, y): (f64, f64), radius: i64, colour: Rgb<u8>) {
    let (cx, cy) = (x.round() as i64, y.round() as i64);
    for dx in -radius - 1..=radius + 1 {
        for dy in -radius - 1..=radius + 1 {
            let d2 = dx * dx + dy * dy;
            if d2 <= radius * radius {
                put(img, cx + dx, cy + dy, colour);
            } else if d2 <= (radius + 1) * (radius + 1) {
                put(img, cx + dx, cy + dy, Rgb([255, 255, 255]));
            }
        }
    }
}

fn hex(colour: &str) -> Rgb<u8> {
    let v = u32::from_str_radix(colour.trim_start_matches('#'), 16).unwrap_or(0x888888);
    Rgb([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

/// The figure of `works` (longitude, latitude, status) over `outlines`, framed on
/// `bounds` (west, south, east, north), as PNG bytes.
pub fn render(outlines: &[Outline], works: &[(f64, f64, String)], bounds: [f64; 4]) -> Vec<u8> {
    let frame = Frame::new(bounds);
    let mut img = RgbImage::from_pixel(SIZE.0, SIZE.1, Rgb([255, 253, 246]));
    for kind in ["district", "province", "border"] {
        let (width, colour) = match kind {
            "district" => (1, Rgb([160, 146, 134])),
            "province" => (3, Rgb([92, 74, 61])),
            _ => (3, Rgb([201, 42, 42])),
        };
        for o in outlines.iter().filter(|o| o.kind == kind) {
            for pair in o.points.windows(2) {
                segment(
                    &mut img,
                    frame.pixel(pair[0]),
                    frame.pixel(pair[1]),
                    width,
                    colour,
                );
            }
        }
    }
    // Done works first, so the ones still under way stay visible on top.
    let mut ordered: Vec<&(f64, f64, String)> = works.iter().collect();
    ordered.sort_by_key(|w| !matches!(w.2.as_str(), "completed" | "handed_over"));
    for (lon, lat, status) in ordered {
        let colour = SiteStatus::from_code(status).map_or("#888888", |s| s.colour());
        dot(&mut img, frame.pixel((*lon, *lat)), 4, hex(colour));
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("writing a PNG to memory cannot fail");
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_is_drawn_where_it_lies_in_its_status_colour() {
        let bounds = [106.0, 11.0, 106.4, 11.4];
        let png = render(
            &[Outline {
                kind: "province".into(),
                points: vec![
                    (106.0, 11.0),
                    (106.4, 11.0),
                    (106.4, 11.4),
                    (106.0, 11.4),
                    (106.0, 11.0),
                ],
            }],
            &[(106.2, 11.2, "under_construction".into())],
            bounds,
        );
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), SIZE);
        let (x, y) = Frame::new(bounds).pixel((106.2, 11.2));
        assert_eq!(*img.get_pixel(x as u32, y as u32), hex("#f08c00"));
        let (x, y) = Frame::new(bounds).pixel((106.0, 11.2));
        assert_eq!(
            *img.get_pixel(x as u32, y as u32),
            Rgb([92, 74, 61]),
            "the province's edge"
        );
    }
}
