//! What a photo says about itself (EXIF, read with kamadak-exif): where and when it was
//! taken, and which way up it is; and the same picture without any of it, for browsers
//! (positions of defence works are sensitive). Pure.

use chrono::{DateTime, NaiveDateTime, Utc};
use exif::{In, Tag, Value};

/// Where and when a photo was taken, when it says so.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Taken {
    pub at: Option<DateTime<Utc>>,
    /// WGS 84 longitude and latitude.
    pub position: Option<(f64, f64)>,
}

/// What the EXIF of `bytes` (JPEG or PNG) says: when and where, and the orientation
/// (1 when it says none). Unreadable metadata is no metadata.
pub fn read(bytes: &[u8]) -> (Taken, u32) {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)) else {
        return (Taken::default(), 1);
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1);
    let position = match (
        degrees(&exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W'),
        degrees(&exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S'),
    ) {
        (Some(lon), Some(lat))
            if lon.abs() <= 180.0 && lat.abs() <= 90.0 && (lon, lat) != (0.0, 0.0) =>
        {
            Some((lon, lat))
        }
        _ => None,
    };
    (
        Taken {
            at: taken_at(&exif),
            position,
        },
        orientation,
    )
}

/// Degrees, minutes and seconds of `tag`, negative when `reference` says `negative`.
fn degrees(exif: &exif::Exif, tag: Tag, reference: Tag, negative: u8) -> Option<f64> {
    let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    let part = |i: usize| parts.get(i).filter(|r| r.denom != 0).map(|r| r.to_f64());
    let value = part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0;
    let sign = match exif.get_field(reference, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(v)) if v.first().and_then(|s| s.first()) == Some(&negative) => -1.0,
        _ => 1.0,
    };
    value.is_finite().then_some(sign * value)
}

/// When the picture was taken: DateTimeOriginal with its offset, or else in Vietnam's
/// time (phones write local time; the programme is in Tây Ninh).
fn taken_at(exif: &exif::Exif) -> Option<DateTime<Utc>> {
    let text = |tag: Tag| match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => v
            .first()
            .map(|s| String::from_utf8_lossy(s).trim().to_string()),
        _ => None,
    };
    let local = text(Tag::DateTimeOriginal).or_else(|| text(Tag::DateTime))?;
    let local = NaiveDateTime::parse_from_str(&local, "%Y:%m:%d %H:%M:%S").ok()?;
    let offset = text(Tag::OffsetTimeOriginal)
        .and_then(|o| {
            DateTime::parse_from_str(&format!("2000-01-01T00:00:00{o}"), "%Y-%m-%dT%H:%M:%S%:z")
                .ok()
        })
        .map(|d| d.offset().local_minus_utc())
        .unwrap_or(7 * 3600);
    Some(local.and_utc() - chrono::Duration::seconds(i64::from(offset)))
}

/// A JPEG without its application segments (EXIF, XMP, IPTC, maker notes: APP1–APP15)
/// and comments; the picture itself is untouched. None if it is not a JPEG we can walk.
pub fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    loop {
        // Fill bytes (0xFF) may come before a marker.
        while i + 1 < bytes.len() && bytes[i] == 0xFF && bytes[i + 1] == 0xFF {
            i += 1;
        }
        if i + 2 > bytes.len() || bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xD9 {
            // End of image: whatever follows (a second picture with its own EXIF, a phone's
            // "motion photo" video) is left out.
            out.extend_from_slice(&bytes[i..i + 2]);
            return Some(out);
        }
        if i + 4 > bytes.len() {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let mut end = i + 2 + length;
        if length < 2 || end > bytes.len() {
            return None;
        }
        if marker == 0xDA {
            // Start of scan: its entropy-coded data runs to the next marker that is not a
            // stuffed 0xFF00 or a restart (0xFFD0–D7); a progressive picture has several.
            while end + 1 < bytes.len()
                && !(bytes[end] == 0xFF
                    && bytes[end + 1] != 0x00
                    && !(0xD0..=0xD7).contains(&bytes[end + 1]))
            {
                end += 1;
            }
            if end + 1 >= bytes.len() {
                return None;
            }
        }
        let metadata = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
        if !metadata {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
}

/// A PNG without its metadata chunks (eXIf, text, time). None if it is not a PNG we can walk.
pub fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = SIGNATURE.to_vec();
    let mut i = SIGNATURE.len();
    while i < bytes.len() {
        if i + 12 > bytes.len() {
            return None;
        }
        let length = u32::from_be_bytes(bytes[i..i + 4].try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(length)?;
        if end > bytes.len() {
            return None;
        }
        let kind = &bytes[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME") {
            out.extend_from_slice(&bytes[i..end]);
        }
        if kind == b"IEND" {
            // Nothing after the end of the picture is kept.
            return Some(out);
        }
        i = end;
    }
    Some(out)
}

/// `picture` turned the way EXIF `orientation` says it was held.
pub fn upright(picture: image::DynamicImage, orientation: u32) -> image::DynamicImage {
    match orientation {
        2 => picture.fliph(),
        3 => picture.rotate180(),
        4 => picture.flipv(),
        5 => picture.rotate90().fliph(),
        6 => picture.rotate90(),
        7 => picture.rotate270().fliph(),
        8 => picture.rotate270(),
        _ => picture,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_without_metadata_says_nothing() {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 20, 30]));
        let mut jpeg = std::io::Cursor::new(Vec::new());
        img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let jpeg = jpeg.into_inner();
        assert_eq!(read(&jpeg), (Taken::default(), 1));
        assert_eq!(strip_jpeg(&jpeg).unwrap(), jpeg);
        assert_eq!(strip_jpeg(b"not a jpeg"), None);
        assert_eq!(strip_png(b"not a png"), None);
    }

    fn jpeg_of(rgb: [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(32, 24, image::Rgb(rgb));
        let mut jpeg = std::io::Cursor::new(Vec::new());
        img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        jpeg.into_inner()
    }

    /// `jpeg` with an APP1 EXIF segment carrying `words` right after its start.
    fn with_app1(jpeg: &[u8], words: &[u8]) -> Vec<u8> {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(words);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn holds(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn nothing_after_the_picture_survives_stripping() {
        let main = jpeg_of([200, 30, 30]);
        // A phone's second picture (or motion video) after the first, with its own EXIF.
        let mut upload = with_app1(&main, b"GPS 11.3N 106.1E main");
        upload.extend_from_slice(&with_app1(
            &jpeg_of([0, 0, 200]),
            b"GPS 11.3N 106.1E second",
        ));
        let stripped = strip_jpeg(&upload).unwrap();
        assert!(!holds(&stripped, b"Exif"), "no EXIF left");
        assert!(!holds(&stripped, b"GPS"), "no position left");
        assert_eq!(stripped, main, "the first picture, as it was");
        assert!(image::load_from_memory(&stripped).is_ok());

        // A segment between the scan and the end (as in a progressive picture) is walked:
        // a comment there is dropped, the picture kept.
        let eoi = main.len() - 2;
        let mut late = main[..eoi].to_vec();
        late.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x0B]);
        late.extend_from_slice(b"late note");
        late.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(strip_jpeg(&late).unwrap(), main);

        // A PNG: what follows its end is left out.
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();
        let mut trailing = png.clone();
        trailing.extend_from_slice(b"Exif GPS trailing");
        assert_eq!(strip_png(&trailing).unwrap(), png);
    }
}
