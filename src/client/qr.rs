//! QR codes for what a user carries between screens by camera: a device link's QR text
//! (PROTOCOL §13). Encoding is the `qrcode` crate's; this only turns its modules into an
//! SVG path that any UI can draw (`<path d=…>` in React, the widget, or a plain page).

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border on each side, as the QR standard asks for.
const QUIET_ZONE: usize = 4;

/// `text` as a QR code (error correction M): the side of its square box, quiet zone
/// included, and an SVG path filling its dark modules, one `M x y h n v1 h -n z` run per
/// row segment. `None` when the text is too long for any QR code.
pub fn svg_path(text: &str) -> Option<(u32, String)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        // Each run of dark modules: where it starts, and where the next light one is.
        let mut start = None;
        for (x, color) in row.iter().chain(std::iter::once(&Color::Light)).enumerate() {
            match (color, start) {
                (Color::Dark, None) => start = Some(x),
                (Color::Light, Some(from)) => {
                    let run = x - from;
                    path.push_str(&format!(
                        "M{} {}h{run}v1h-{run}z",
                        from + QUIET_ZONE,
                        y + QUIET_ZONE
                    ));
                    start = None;
                }
                _ => {}
            }
        }
    }
    Some(((width + 2 * QUIET_ZONE) as u32, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_qr_fits_a_small_code_and_its_path_covers_the_finder_patterns() {
        // 48 bytes in base64url: 64 characters of mixed case, as a real link has.
        let text = format!("chatseal:link:{}", "aB3-_xYz".repeat(8));
        let (size, path) = svg_path(&text).unwrap();
        // 78 bytes at level M: version 5, 37 modules, plus the quiet zone.
        assert_eq!(size, 37 + 8);
        // The top-left finder pattern's first row: seven dark modules from (4, 4).
        assert!(path.starts_with("M4 4h7v1h-7z"), "{}", &path[..40]);
        // Every run lies inside the code.
        for run in path.split('M').skip(1) {
            let x: u32 = run.split(' ').next().unwrap().parse().unwrap();
            assert!((4..size - 4).contains(&x));
        }
    }

    #[test]
    fn a_text_too_long_for_any_code_is_none() {
        assert!(svg_path(&"x".repeat(4000)).is_none());
    }
}
