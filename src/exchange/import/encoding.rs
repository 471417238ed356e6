//! Text in the legacy Vietnamese encodings that DBF files from older GIS and CAD software
//! carry: TCVN3 (ABC, the .Vn fonts), VNI-Windows and Windows-1258 next to UTF-8. Each
//! decodes to NFC Unicode; `detect` picks the one under which the file's text reads as
//! Vietnamese syllables.

use encoding_rs::WINDOWS_1258;
use serde::Serialize;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    Utf8,
    Cp1258,
    Tcvn3,
    Vni,
}

impl TextEncoding {
    pub const ALL: [TextEncoding; 4] = [Self::Utf8, Self::Cp1258, Self::Tcvn3, Self::Vni];

    pub fn code(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Cp1258 => "cp1258",
            Self::Tcvn3 => "tcvn3",
            Self::Vni => "vni",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8 (Unicode)",
            Self::Cp1258 => "Windows-1258",
            Self::Tcvn3 => "TCVN3 (ABC)",
            Self::Vni => "VNI-Windows",
        }
    }

    /// By code or a usual spelling ("UTF8", "1258", "abc", "vni-windows"); also the
    /// contents of a Shapefile's `.cpg`.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        match t.as_str() {
            "utf-8" | "utf8" | "unicode" => Some(Self::Utf8),
            "cp1258" | "1258" | "windows-1258" | "ansi-1258" => Some(Self::Cp1258),
            "tcvn3" | "tcvn" | "abc" | "tcvn-5712" | "tcvn5712" => Some(Self::Tcvn3),
            "vni" | "vni-windows" => Some(Self::Vni),
            _ => None,
        }
    }

    pub fn decode(self, bytes: &[u8]) -> String {
        let raw: String = match self {
            Self::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Self::Cp1258 => WINDOWS_1258
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            Self::Tcvn3 => bytes
                .iter()
                .map(|&b| {
                    if b < 0x80 {
                        b as char
                    } else {
                        TCVN3_HIGH[usize::from(b - 0x80)]
                    }
                })
                .collect(),
            Self::Vni => decode_vni(bytes),
        };
        raw.nfc().collect()
    }
}

/// Bytes 0x80–0xFF of TCVN 5712:1993 (VN3 and its capitals), from glibc's TCVN5712-1
/// converter. 0xB0–0xB4 are combining tone marks.
const TCVN3_HIGH: [char; 128] = [
    '\u{00c0}', '\u{1ea2}', '\u{00c3}', '\u{00c1}', '\u{1ea0}', '\u{1eb6}', '\u{1eac}', '\u{00c8}',
    '\u{1eba}', '\u{1ebc}', '\u{00c9}', '\u{1eb8}', '\u{1ec6}', '\u{00cc}', '\u{1ec8}', '\u{0128}',
    '\u{00cd}', '\u{1eca}', '\u{00d2}', '\u{1ece}', '\u{00d5}', '\u{00d3}', '\u{1ecc}', '\u{1ed8}',
    '\u{1edc}', '\u{1ede}', '\u{1ee0}', '\u{1eda}', '\u{1ee2}', '\u{00d9}', '\u{1ee6}', '\u{0168}',
    '\u{00a0}', '\u{0102}', '\u{00c2}', '\u{00ca}', '\u{00d4}', '\u{01a0}', '\u{01af}', '\u{0110}',
    '\u{0103}', '\u{00e2}', '\u{00ea}', '\u{00f4}', '\u{01a1}', '\u{01b0}', '\u{0111}', '\u{1eb0}',
    '\u{0300}', '\u{0309}', '\u{0303}', '\u{0301}', '\u{0323}', '\u{00e0}', '\u{1ea3}', '\u{00e3}',
    '\u{00e1}', '\u{1ea1}', '\u{1eb2}', '\u{1eb1}', '\u{1eb3}', '\u{1eb5}', '\u{1eaf}', '\u{1eb4}',
    '\u{1eae}', '\u{1ea6}', '\u{1ea8}', '\u{1eaa}', '\u{1ea4}', '\u{1ec0}', '\u{1eb7}', '\u{1ea7}',
    '\u{1ea9}', '\u{1eab}', '\u{1ea5}', '\u{1ead}', '\u{00e8}', '\u{1ec2}', '\u{1ebb}', '\u{1ebd}',
    '\u{00e9}', '\u{1eb9}', '\u{1ec1}', '\u{1ec3}', '\u{1ec5}', '\u{1ebf}', '\u{1ec7}', '\u{00ec}',
    '\u{1ec9}', '\u{1ec4}', '\u{1ebe}', '\u{1ed2}', '\u{0129}', '\u{00ed}', '\u{1ecb}', '\u{00f2}',
    '\u{1ed4}', '\u{1ecf}', '\u{00f5}', '\u{00f3}', '\u{1ecd}', '\u{1ed3}', '\u{1ed5}', '\u{1ed7}',
    '\u{1ed1}', '\u{1ed9}', '\u{1edd}', '\u{1edf}', '\u{1ee1}', '\u{1edb}', '\u{1ee3}', '\u{00f9}',
    '\u{1ed6}', '\u{1ee7}', '\u{0169}', '\u{00fa}', '\u{1ee5}', '\u{1eeb}', '\u{1eed}', '\u{1eef}',
    '\u{1ee9}', '\u{1ef1}', '\u{1ef3}', '\u{1ef7}', '\u{1ef9}', '\u{00fd}', '\u{1ef5}', '\u{1ed0}',
];

/// VNI-Windows writes a vowel's marks as Latin-1 letters after it: `aù` is á, `aâ` is â,
/// `aá` is ấ, `aê` is ă; a few letters are one byte (`ô` ơ, `ö` ư, `ñ` đ, `í ì æ ó ò` the
/// toned i's, `î` ỵ). Decoded to base letters and combining marks, then composed.
fn decode_vni(bytes: &[u8]) -> String {
    const GRAVE: char = '\u{300}';
    const ACUTE: char = '\u{301}';
    const TILDE: char = '\u{303}';
    const HOOK: char = '\u{309}';
    const DOT: char = '\u{323}';
    const CIRCUMFLEX: char = '\u{302}';
    const BREVE: char = '\u{306}';
    const HORN: char = '\u{31b}';
    // The tone after any vowel.
    fn tone(c: char) -> Option<char> {
        match c.to_ascii_lowercase() {
            'ù' | 'Ù' => Some(ACUTE),
            'ø' | 'Ø' => Some(GRAVE),
            'û' | 'Û' => Some(HOOK),
            'õ' | 'Õ' => Some(TILDE),
            'ï' | 'Ï' => Some(DOT),
            _ => None,
        }
    }
    // Circumflex with an optional tone, after a, e, o.
    fn circumflex(c: char) -> Option<Option<char>> {
        match c {
            'â' | 'Â' => Some(None),
            'á' | 'Á' => Some(Some(ACUTE)),
            'à' | 'À' => Some(Some(GRAVE)),
            'å' | 'Å' => Some(Some(HOOK)),
            'ã' | 'Ã' => Some(Some(TILDE)),
            'ä' | 'Ä' => Some(Some(DOT)),
            _ => None,
        }
    }
    // Breve with an optional tone, after a.
    fn breve(c: char) -> Option<Option<char>> {
        match c {
            'ê' | 'Ê' => Some(None),
            'é' | 'É' => Some(Some(ACUTE)),
            'è' | 'È' => Some(Some(GRAVE)),
            'ú' | 'Ú' => Some(Some(HOOK)),
            'ü' | 'Ü' => Some(Some(TILDE)),
            'ë' | 'Ë' => Some(Some(DOT)),
            _ => None,
        }
    }
    let chars: Vec<char> = bytes.iter().map(|&b| b as char).collect();
    let mut out = String::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // A base vowel and the marks that follow it.
        let (base, mut marks): (Option<char>, Vec<char>) = match c {
            'a' | 'A' | 'e' | 'E' | 'o' | 'O' | 'u' | 'U' | 'y' | 'Y' | 'i' | 'I' => {
                (Some(c), Vec::new())
            }
            'ô' => (Some('o'), vec![HORN]),
            'Ô' => (Some('O'), vec![HORN]),
            'ö' => (Some('u'), vec![HORN]),
            'Ö' => (Some('U'), vec![HORN]),
            _ => (None, Vec::new()),
        };
        let Some(base) = base else {
            out.push(match c {
                'ñ' => 'đ',
                'Ñ' => 'Đ',
                'í' => 'í',
                'Í' => 'Í',
                'ì' => 'ì',
                'Ì' => 'Ì',
                'æ' => 'ỉ',
                'Æ' => 'Ỉ',
                'ó' => 'ĩ',
                'Ó' => 'Ĩ',
                'ò' => 'ị',
                'Ò' => 'Ị',
                'î' => 'ỵ',
                'Î' => 'Ỵ',
                other => other,
            });
            i += 1;
            continue;
        };
        i += 1;
        if let Some(n) = next {
            let lower = base.to_ascii_lowercase();
            if let (true, Some(t)) = (marks.is_empty() && "aeo".contains(lower), circumflex(n)) {
                marks.push(CIRCUMFLEX);
                marks.extend(t);
                i += 1;
            } else if let (true, Some(t)) = (marks.is_empty() && lower == 'a', breve(n)) {
                marks.push(BREVE);
                marks.extend(t);
                i += 1;
            } else if let (false, Some(t)) = (lower == 'i', tone(n)) {
                marks.push(t);
                i += 1;
            }
        }
        out.push(base);
        out.extend(marks);
    }
    out
}

/// `text` in Windows-1258 as Vietnamese software writes it: vowels with their quality marks
/// (â, ơ, …) as one byte where the code page has them, tone marks as combining bytes after.
/// Characters the code page lacks become `?`.
pub fn encode_cp1258(text: &str) -> Vec<u8> {
    let mut staged = String::new();
    for c in text.nfc() {
        let mut parts = Vec::new();
        decompose_canonical(c, |d| parts.push(d));
        let (tones, rest): (Vec<char>, Vec<char>) = parts
            .into_iter()
            .partition(|d| matches!(d, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}'));
        let base: String = rest.into_iter().collect::<String>().nfc().collect();
        // The code page has some toned letters whole (à, á, …): use them when it does.
        let whole: String = format!("{base}{}", tones.iter().collect::<String>())
            .nfc()
            .collect();
        let (bytes, _, bad) = WINDOWS_1258.encode(&whole);
        if !bad && !tones.is_empty() && bytes.len() == 1 {
            staged.push_str(&whole);
        } else {
            staged.push_str(&base);
            staged.extend(tones);
        }
    }
    let mut out = Vec::with_capacity(staged.len());
    let mut buf = [0u8; 4];
    for c in staged.chars() {
        let (bytes, _, bad) = WINDOWS_1258.encode(c.encode_utf8(&mut buf));
        if bad {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// Which encoding a file's text is in, and how each candidate reads.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub chosen: TextEncoding,
    /// Every candidate with its score (Vietnamese syllables read minus words that cannot
    /// be Vietnamese), best first.
    pub candidates: Vec<(TextEncoding, i64)>,
}

/// Picks the encoding of `samples` (raw text values): UTF-8 when they are valid UTF-8 (or
/// plain ASCII), else the legacy encoding under which most words are Vietnamese
/// syllables.
pub fn detect<'a>(samples: impl IntoIterator<Item = &'a [u8]> + Clone) -> Detection {
    let mut candidates: Vec<(TextEncoding, i64)> = TextEncoding::ALL
        .iter()
        .map(|&enc| {
            let mut score = 0i64;
            for s in samples.clone() {
                if enc == TextEncoding::Utf8 && std::str::from_utf8(s).is_err() {
                    score -= 1000;
                    continue;
                }
                score += syllable_score(&enc.decode(s));
            }
            (enc, score)
        })
        .collect();
    // Stable: ties keep the order of ALL (UTF-8 first).
    candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
    Detection {
        chosen: candidates[0].0,
        candidates,
    }
}

/// +1 for each word with Vietnamese letters that is a Vietnamese syllable, −3 for each
/// word that has non-ASCII characters and is not one (or has stray symbols).
pub fn syllable_score(text: &str) -> i64 {
    let mut score = 0;
    for word in text.split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c))) {
        if word.is_ascii() {
            continue;
        }
        score += if is_syllable(word) { 1 } else { -3 };
    }
    // Symbols and controls no Vietnamese text has.
    score -= 3 * text
        .chars()
        .filter(|&c| !c.is_ascii() && !c.is_alphanumeric() && !is_combining_mark(c) && c != '–')
        .count() as i64;
    score
}

/// Whether `word` is one Vietnamese syllable: onset, a vowel group from the language's
/// inventory, a final, and at most one tone mark.
pub fn is_syllable(word: &str) -> bool {
    let mut bare = String::new();
    let mut tones = 0;
    for c in word.to_lowercase().chars() {
        let mut parts = Vec::new();
        decompose_canonical(c, |d| parts.push(d));
        for d in parts {
            match d {
                '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}' => tones += 1,
                '\u{302}' => bare.push('^'),
                '\u{306}' => bare.push('('),
                '\u{31b}' => bare.push('+'),
                'đ' => bare.push('đ'),
                d if d.is_ascii_lowercase() => bare.push(d),
                _ => return false,
            }
        }
    }
    if tones > 1 {
        return false;
    }
    // Marks written after their letter: a^ â, a( ă, o^ ô, o+ ơ, u+ ư, e^ ê.
    let letters: String = bare;
    let onsets = [
        "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c", "d", "đ", "g",
        "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "",
    ];
    let finals = [
        "ng", "nh", "ch", "c", "m", "n", "p", "t", "i", "o", "u", "y", "",
    ];
    const VOWELS: &[&str] = &[
        "a", "a(", "a^", "e", "e^", "i", "o", "o^", "o+", "u", "u+", "y", "ie^", "ye^", "ua",
        "uo^", "u+a", "u+o+", "oa", "oa(", "oe", "ue^", "uy", "uye^", "ua^", "uo+", "oo", "u+u",
        "a^u", "a^y", "e^u", "ie^u", "ye^u", "uo^i", "u+o+i", "u+o+u", "oai", "oay", "uya", "uy",
        "ai", "ao", "au", "ay", "eo", "ia", "iu", "oi", "o^i", "o+i", "ui", "u+i", "oao", "oeo",
        "ua^y", "uyu",
    ];
    const GLIDE_NUCLEI: &[&str] = &[
        "a", "a(", "a^", "e", "e^", "i", "o", "o^", "o+", "u", "u+", "y", "ie^", "ye^", "uo^",
        "u+o+", "oa", "ua^", "ue^", "uy",
    ];
    for onset in onsets {
        let Some(rest) = letters.strip_prefix(onset) else {
            continue;
        };
        for fin in finals {
            let Some(vowel) = rest.strip_suffix(fin) else {
                continue;
            };
            // A final glide (i, o, u, y) follows a simple nucleus only: "ao" + "y" is no
            // syllable.
            let glide = matches!(fin, "i" | "o" | "u" | "y");
            if glide && !GLIDE_NUCLEI.contains(&vowel) {
                continue;
            }
            if VOWELS.contains(&vowel) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_tcvn3(text: &str) -> Vec<u8> {
        text.chars()
            .map(|c| {
                if c.is_ascii() {
                    c as u8
                } else {
                    0x80 + TCVN3_HIGH.iter().position(|&t| t == c).expect("in TCVN3") as u8
                }
            })
            .collect()
    }

    const NAME: &str = "Chốt dân quân biên giới Phước Vinh, huyện Châu Thành, Tây Ninh";

    #[test]
    fn each_encoding_decodes_vietnamese() {
        assert_eq!(TextEncoding::Tcvn3.decode(&encode_tcvn3(NAME)), NAME);
        // VNI as Vietnamese typists' files have it (Latin-1 bytes).
        let vni: Vec<u8> =
            "Choát daân quaân bieân giôùi Phöôùc Vinh, huyeän Chaâu Thaønh, Taây Ninh"
                .chars()
                .map(|c| c as u32 as u8)
                .collect();
        assert_eq!(TextEncoding::Vni.decode(&vni), NAME);
        assert_eq!(TextEncoding::Cp1258.decode(&encode_cp1258(NAME)), NAME);
        assert_eq!(TextEncoding::Utf8.decode(NAME.as_bytes()), NAME);
    }

    #[test]
    fn detection_picks_the_one_that_reads_as_vietnamese() {
        let names = [
            NAME,
            "Kho vũ khí, đạn dược Bộ CHQS tỉnh",
            "Đường cơ động ven biên giới xã Hòa Hiệp",
            "Khu vực tìm kiếm hài cốt liệt sĩ",
        ];
        let tcvn: Vec<Vec<u8>> = names.iter().map(|n| encode_tcvn3(n)).collect();
        assert_eq!(
            detect(tcvn.iter().map(Vec::as_slice)).chosen,
            TextEncoding::Tcvn3
        );
        let cp: Vec<Vec<u8>> = names
            .iter()
            .map(|n| WINDOWS_1258.encode(n).0.into_owned())
            .collect();
        assert_eq!(
            detect(cp.iter().map(Vec::as_slice)).chosen,
            TextEncoding::Cp1258
        );
        let utf: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
        assert_eq!(detect(utf.iter().copied()).chosen, TextEncoding::Utf8);
        let vni: Vec<Vec<u8>> = [
            "Choát daân quaân bieân giôùi Phöôùc Vinh",
            "Kho vuõ khí, ñaïn döôïc Boä CHQS tænh",
            "Ñöôøng cô ñoäng ven bieân giôùi xaõ Hoøa Hieäp",
        ]
        .iter()
        .map(|s| s.chars().map(|c| c as u32 as u8).collect())
        .collect();
        assert_eq!(
            TextEncoding::Vni.decode(&vni[1]),
            "Kho vũ khí, đạn dược Bộ CHQS tỉnh"
        );
        assert_eq!(
            detect(vni.iter().map(Vec::as_slice)).chosen,
            TextEncoding::Vni
        );
        assert!(is_syllable("nghiêng") && is_syllable("Tây") && !is_syllable("Taõy"));
    }
}
