//! Site photos: checked by their content (JPEG or PNG, whatever the name or the declared
//! type says), size-limited, decoded once to learn their size and make a thumbnail.

use sha2::{Digest, Sha256};

use super::exif;
pub use super::exif::Taken;

/// Largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 12 * 1024 * 1024;
/// Photos per update.
pub const MAX_PHOTOS: usize = 6;
/// Longer side of a thumbnail, in pixels.
const THUMB: u32 = 320;
/// Largest picture decoded, in pixels (a 12 MB JPEG can claim absurd dimensions).
const MAX_PIXELS: u64 = 64_000_000;

#[derive(Debug, Clone)]
pub struct Photo {
    pub content_type: &'static str,
    /// What browsers get: the picture upright, without metadata.
    pub image: Vec<u8>,
    /// The upload as sent, when it carried metadata (EXIF position and time).
    pub original: Option<Vec<u8>>,
    /// Where and when it says it was taken.
    pub taken: Taken,
    pub thumbnail: Vec<u8>,
    pub width: i32,
    pub height: i32,
    pub sha256: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoError {
    #[error("{name}: larger than {} MB", MAX_PHOTO_BYTES / 1024 / 1024)]
    TooLarge { name: String },
    #[error("{name}: empty file")]
    Empty { name: String },
    #[error("{name}: HEIC pictures must be sent as JPEG (phones convert them when sharing to a browser; choose “Most compatible” on iPhone)")]
    Heic { name: String },
    #[error("{name}: not a JPEG or PNG picture")]
    NotAPicture { name: String },
    #[error("{name}: the picture cannot be read ({reason})")]
    Broken { name: String, reason: String },
}

impl PhotoError {
    /// The same refusal for Vietnamese pages.
    pub fn vi(&self) -> String {
        match self {
            PhotoError::TooLarge { name } => {
                format!("{name}: ảnh lớn hơn {} MB.", MAX_PHOTO_BYTES / 1024 / 1024)
            }
            PhotoError::Empty { name } => format!("{name}: tệp rỗng."),
            PhotoError::Heic { name } => format!(
                "{name}: ảnh HEIC cần gửi dưới dạng JPEG (trên iPhone chọn “Tương thích nhất”)."
            ),
            PhotoError::NotAPicture { name } => format!("{name}: không phải ảnh JPEG hoặc PNG."),
            PhotoError::Broken { name, .. } => format!("{name}: ảnh bị hỏng, không đọc được."),
        }
    }
}

/// The picture's type from its first bytes.
fn sniff(bytes: &[u8]) -> Option<(&'static str, image::ImageFormat)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", image::ImageFormat::Jpeg))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", image::ImageFormat::Png))
    } else {
        None
    }
}

fn is_heic(bytes: &[u8]) -> bool {
    bytes.len() > 12
        && &bytes[4..8] == b"ftyp"
        && matches!(
            &bytes[8..12],
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"hevc"
        )
}

impl Photo {
    /// Checks and thumbnails an uploaded file called `name`. CPU-bound: call it off the
    /// async threads.
    pub fn from_upload(name: &str, bytes: Vec<u8>) -> Result<Photo, PhotoError> {
        let name = name.to_string();
        if bytes.is_empty() {
            return Err(PhotoError::Empty { name });
        }
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge { name });
        }
        if is_heic(&bytes) {
            return Err(PhotoError::Heic { name });
        }
        let Some((content_type, format)) = sniff(&bytes) else {
            return Err(PhotoError::NotAPicture { name });
        };
        let broken = |e: image::ImageError| PhotoError::Broken {
            name: name.clone(),
            reason: e.to_string(),
        };
        let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format);
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(MAX_PIXELS * 4);
        reader.limits(limits);
        let picture = reader.decode().map_err(broken)?;
        if u64::from(picture.width()) * u64::from(picture.height()) > MAX_PIXELS {
            return Err(PhotoError::TooLarge { name });
        }
        let (taken, orientation) = exif::read(&bytes);
        let picture = exif::upright(picture, orientation);
        let (width, height) = (picture.width(), picture.height());
        let thumb = picture.thumbnail(THUMB, THUMB).to_rgb8();
        let mut thumbnail = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, 80)
            .encode_image(&thumb)
            .map_err(broken)?;
        // Without metadata: the same bytes less their metadata when the picture is already
        // upright; turned and encoded again when EXIF said to turn it.
        let stripped = if orientation != 1 {
            None
        } else if format == image::ImageFormat::Jpeg {
            exif::strip_jpeg(&bytes)
        } else {
            exif::strip_png(&bytes)
        };
        let display = match stripped {
            Some(s) => s,
            None => {
                let mut out = Vec::new();
                if format == image::ImageFormat::Jpeg {
                    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                        .encode_image(&picture.to_rgb8())
                        .map_err(broken)?;
                } else {
                    picture
                        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                        .map_err(broken)?;
                }
                out
            }
        };
        let original = (display != bytes).then(|| bytes.clone());
        Ok(Photo {
            content_type,
            sha256: Sha256::digest(&bytes).to_vec(),
            image: display,
            original,
            taken,
            thumbnail,
            width: i32::try_from(width).unwrap_or(i32::MAX),
            height: i32::try_from(height).unwrap_or(i32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_png_is_accepted_and_thumbnailed_as_jpeg() {
        let photo = Photo::from_upload("a.jpg", png(800, 600)).unwrap();
        assert_eq!(
            photo.content_type, "image/png",
            "the content decides, not the name"
        );
        assert_eq!((photo.width, photo.height), (800, 600));
        assert!(photo.thumbnail.starts_with(&[0xFF, 0xD8, 0xFF]));
        let thumb = image::load_from_memory(&photo.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
    }

    #[test]
    fn other_content_is_refused_with_its_name() {
        assert_eq!(
            Photo::from_upload("x.jpg", b"<script>alert(1)</script>".to_vec()).unwrap_err(),
            PhotoError::NotAPicture {
                name: "x.jpg".into()
            }
        );
        assert!(matches!(
            Photo::from_upload("e.png", vec![]),
            Err(PhotoError::Empty { .. })
        ));
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic");
        heic.extend_from_slice(&[0; 32]);
        assert!(matches!(
            Photo::from_upload("IMG_1.HEIC", heic),
            Err(PhotoError::Heic { .. })
        ));
        let mut truncated = png(100, 100);
        truncated.truncate(60);
        assert!(matches!(
            Photo::from_upload("t.png", truncated),
            Err(PhotoError::Broken { .. })
        ));
        assert!(matches!(
            Photo::from_upload("big.jpg", vec![0xFF; MAX_PHOTO_BYTES + 1]),
            Err(PhotoError::TooLarge { .. })
        ));
    }
}
