//! Pictures of the screen: QEMU's screen dumps (PPM) and the twin's snapshots, compared
//! pixel by pixel within a tolerance.

use std::path::Path;

#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    /// RGB, 3 bytes a pixel, rows top to bottom.
    pub rgb: Vec<u8>,
}

/// A part of the screen, in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Two pixels are the same if no channel differs by more than this (the two renderings are
/// the same software renderer, so most pixels are equal exactly; this allows for dithering
/// and blending rounded differently).
const CHANNEL_TOLERANCE: u8 = 24;

impl Picture {
    /// A binary PPM (P6, maxval 255), as QEMU's screendump writes.
    pub fn from_ppm(bytes: &[u8]) -> Result<Picture, String> {
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b'#' {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if start == i {
                return Err("the screen dump is cut short".into());
            }
            fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
        }
        i += 1; // the one whitespace byte before the pixels
        let number = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("the screen dump's header has {s:?}"))
        };
        if fields[0] != "P6" || number(&fields[3])? != 255 {
            return Err(format!(
                "the screen dump is not an 8-bit PPM: {:?}",
                &fields
            ));
        }
        let (width, height) = (number(&fields[1])?, number(&fields[2])?);
        let size = (width * height * 3) as usize;
        let rgb = bytes
            .get(i..i + size)
            .ok_or("the screen dump has fewer pixels than its header says")?
            .to_vec();
        Ok(Picture { width, height, rgb })
    }

    pub fn from_rgba(width: u32, height: u32, rgba: &[u8]) -> Picture {
        let rgb = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Picture { width, height, rgb }
    }

    pub fn write_png(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(&self.rgb))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// One colour all over: nothing drawn (or a console cleared to black).
    pub fn is_blank(&self) -> bool {
        let first = &self.rgb[..3.min(self.rgb.len())];
        self.rgb.chunks_exact(3).all(|p| p == first)
    }

    pub fn full(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            w: self.width,
            h: self.height,
        }
    }

    /// The share of the pixels in `region` that are the same in both pictures (0 to 1); 0
    /// when the sizes differ.
    pub fn likeness(&self, other: &Picture, region: Rect) -> f64 {
        if (self.width, self.height) != (other.width, other.height) {
            return 0.0;
        }
        let mut same = 0u64;
        let mut all = 0u64;
        for y in region.y..(region.y + region.h).min(self.height) {
            for x in region.x..(region.x + region.w).min(self.width) {
                let i = ((y * self.width + x) * 3) as usize;
                let a = &self.rgb[i..i + 3];
                let b = &other.rgb[i..i + 3];
                all += 1;
                if a.iter()
                    .zip(b)
                    .all(|(p, q)| p.abs_diff(*q) <= CHANNEL_TOLERANCE)
                {
                    same += 1;
                }
            }
        }
        if all == 0 {
            0.0
        } else {
            same as f64 / all as f64
        }
    }

    /// The colour most pixels in `region` have, as "#rrggbb".
    pub fn main_colour(&self, region: Rect) -> String {
        let mut counts = std::collections::HashMap::<[u8; 3], u32>::new();
        for y in region.y..(region.y + region.h).min(self.height) {
            for x in region.x..(region.x + region.w).min(self.width) {
                let i = ((y * self.width + x) * 3) as usize;
                *counts
                    .entry([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
                    .or_default() += 1;
            }
        }
        let best = counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(c, _)| c)
            .unwrap_or_default();
        format!("#{:02x}{:02x}{:02x}", best[0], best[1], best[2])
    }
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture({}x{})", self.width, self.height)
    }
}
