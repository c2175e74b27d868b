//! The device's screen turned: Slint's KMS backend turns the picture (`display.rotation`,
//! passed on as `SLINT_KMS_ROTATION`), and libinput turns touch through a calibration matrix
//! that a udev rule sets. `earshot touch-rotation` writes that rule from the same setting, so
//! that picture and touch are turned together.

use crate::core::problem::Problem;
use std::path::{Path, PathBuf};

/// The rule file `earshot touch-rotation` writes (before 99-earshot.rules, which leaves
/// calibration alone).
pub const TOUCH_RULE_FILE: &str = "98-earshot-touch-rotation.rules";

/// libinput's calibration matrix for a picture turned `rotation` degrees clockwise; `None`
/// for 0. libinput names matrices by the way they turn touch, which is opposite to the
/// picture's: the picture's 90° takes libinput's 270° matrix.
pub fn touch_matrix(rotation: u16) -> Option<&'static str> {
    match rotation {
        90 => Some("0 1 0 -1 0 1"),
        180 => Some("-1 0 1 0 -1 1"),
        270 => Some("0 -1 1 1 0 0"),
        _ => None,
    }
}

/// Where a touch at (x, y) on the panel (0..1 each way) lands under `matrix`.
pub fn apply(matrix: &str, (x, y): (f64, f64)) -> (f64, f64) {
    let m: Vec<f64> = matrix
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
}

/// The rule file's text for `rotation`.
pub fn touch_rule(rotation: u16) -> String {
    let mut text = format!(
        "# Written by `earshot touch-rotation` from display.rotation = {rotation} in earshot.toml:\n\
         # touchscreen input turned to match the picture. Run it again after changing the\n\
         # setting; edits here are replaced.\n"
    );
    match touch_matrix(rotation) {
        Some(matrix) => text.push_str(&format!(
            "SUBSYSTEM==\"input\", KERNEL==\"event[0-9]*\", ENV{{ID_INPUT_TOUCHSCREEN}}==\"1\", \
             ENV{{LIBINPUT_CALIBRATION_MATRIX}}=\"{matrix}\"\n"
        )),
        None => text.push_str("# Not turned: no calibration matrix.\n"),
    }
    text
}

/// Writes the rule into `rules_dir` (atomically) and returns its path.
pub fn write_touch_rule(rules_dir: &Path, rotation: u16) -> Result<PathBuf, Problem> {
    let path = rules_dir.join(TOUCH_RULE_FILE);
    crate::files::replace_atomically(&path, touch_rule(rotation).as_bytes(), Some(0o644)).map_err(
        |e| {
            format!(
                "cannot write {} ({}): {}; run it as root (`sudo earshot touch-rotation`)",
                path.display(),
                e.step,
                e.error
            )
        },
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture turned clockwise by `rotation` puts its own top-left corner at this corner
    /// of the panel; a touch there must land at the picture's (0, 0), and the panel's
    /// opposite corner at the picture's (1, 1).
    fn picture_origin_on_panel(rotation: u16) -> ((f64, f64), (f64, f64)) {
        match rotation {
            90 => ((1.0, 0.0), (0.0, 1.0)),
            180 => ((1.0, 1.0), (0.0, 0.0)),
            270 => ((0.0, 1.0), (1.0, 0.0)),
            _ => ((0.0, 0.0), (1.0, 1.0)),
        }
    }

    #[test]
    fn each_matrix_takes_the_panel_to_the_turned_picture() {
        for rotation in [90, 180, 270] {
            let matrix = touch_matrix(rotation).unwrap();
            let (origin, far) = picture_origin_on_panel(rotation);
            assert_eq!(apply(matrix, origin), (0.0, 0.0), "{rotation}");
            assert_eq!(apply(matrix, far), (1.0, 1.0), "{rotation}");
        }
        assert_eq!(touch_matrix(0), None);
    }

    #[test]
    fn the_rule_file_holds_the_matrix_for_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_touch_rule(dir.path(), 90).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("ENV{LIBINPUT_CALIBRATION_MATRIX}=\"0 1 0 -1 0 1\""),
            "{text}"
        );
        assert!(text.contains("ENV{ID_INPUT_TOUCHSCREEN}==\"1\""));
        let path = write_touch_rule(dir.path(), 0).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("LIBINPUT_CALIBRATION_MATRIX"), "{text}");
    }
}
