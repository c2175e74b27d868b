//! The kiosk's fonts. Every text is drawn in Noto Sans (regular and bold: Latin with the Welsh
//! and Polish letters, Greek, Cyrillic); Chinese characters, which Noto Sans lacks, come from
//! Droid Sans Fallback, made Slint's fallback for the Han, Bopomofo and kana scripts whatever
//! family a text asks for. Other scripts fall back to whatever fontconfig offers for them.
//!
//! Where they come from:
//! - the desktop build (`embedded-fonts`, part of `desktop`) carries its own copies
//!   (assets/fonts), so that a development machine needs none installed;
//! - the device build finds Debian's (fonts-noto-core, fonts-droid-fallback, which the
//!   package depends on) at run time: by family through fontconfig, else at the paths those
//!   packages install them to. That keeps 5 MB of fonts out of the binary on the Pi.
//!
//! Either way each face is checked before the window is made: it must be there, at its weight,
//! and have the letters the kiosk's languages need. A face that is missing or unusable stops
//! the kiosk at start with the problem and its fix, rather than screens whose words vanish.

use std::cell::OnceCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use slint::fontique_011::fontique::{
    Blob, Collection, FallbackKey, FontInfo, FontStyle, FontWeight, FontWidth, Script, SourceKind,
};

/// The family of every text.
pub const FAMILY: &str = "Noto Sans";
/// The family of Chinese characters.
pub const CJK_FAMILY: &str = "Droid Sans Fallback";
/// Debian's packages with the fonts; the kiosk's package depends on them.
pub const PACKAGES: [&str; 2] = ["fonts-noto-core", "fonts-droid-fallback"];
/// The scripts drawn from `CJK_FAMILY` (ISO 15924).
const CJK_SCRIPTS: [[u8; 4]; 4] = [*b"Hani", *b"Bopo", *b"Hira", *b"Kana"];

/// Where the kiosk's fonts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The copies built into the program (the desktop build).
    BuiltIn,
    /// The system's, from Debian's packages (the device build).
    System,
}

impl Source {
    /// This build's: its own copies with the `embedded-fonts` feature, else the system's.
    pub const OF_THIS_BUILD: Source = if cfg!(feature = "embedded-fonts") {
        Source::BuiltIn
    } else {
        Source::System
    };
}

/// One face the kiosk needs.
struct Face {
    family: &'static str,
    weight: FontWeight,
    name: &'static str,
    /// Letters it must have: a font of that name without them would draw empty boxes.
    sample: &'static str,
    package: &'static str,
    /// Where its Debian package installs it.
    path: &'static str,
}

const FACES: [Face; 3] = [
    Face {
        family: FAMILY,
        weight: FontWeight::NORMAL,
        name: "Noto Sans Regular",
        sample: "Aa09£€ąęłńóśźżŵŷĆŁ",
        package: PACKAGES[0],
        path: "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    },
    Face {
        family: FAMILY,
        weight: FontWeight::BOLD,
        name: "Noto Sans Bold",
        sample: "Aa09£€ąęłńóśźżŵŷĆŁ",
        package: PACKAGES[0],
        path: "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    },
    Face {
        family: CJK_FAMILY,
        weight: FontWeight::NORMAL,
        name: "Droid Sans Fallback",
        sample: "中文您好谢",
        package: PACKAGES[1],
        path: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    },
];

/// The built-in copies, in the order of `FACES`.
#[cfg(feature = "embedded-fonts")]
const BUILT_IN: [&[u8]; 3] = [
    include_bytes!("../../assets/fonts/NotoSans-Regular.ttf"),
    include_bytes!("../../assets/fonts/NotoSans-Bold.ttf"),
    include_bytes!("../../assets/fonts/DroidSansFallbackFull.ttf"),
];
#[cfg(not(feature = "embedded-fonts"))]
const BUILT_IN: [&[u8]; 0] = [];

/// The faces in use, each with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fonts {
    pub faces: Vec<(&'static str, String)>,
}

impl fmt::Display for Fonts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, from)) in self.faces.iter().enumerate() {
            write!(f, "{}{name} ({from})", if i > 0 { ", " } else { "" })?;
        }
        Ok(())
    }
}

/// Faces that are missing or unusable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontProblem {
    pub missing: Vec<String>,
    pub source: Source,
}

impl fmt::Display for FontProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no usable font for the kiosk's text: {}",
            self.missing.join("; ")
        )?;
        match self.source {
            Source::System => write!(
                f,
                ". Without the fonts the screens' words would not be drawn. Fix: install Debian's fonts \
                 with `sudo apt install {}` (the earshot package depends on them), then start the \
                 kiosk again",
                PACKAGES.join(" ")
            ),
            Source::BuiltIn => write!(f, ". This build's own copies are damaged: build it again"),
        }
    }
}

impl std::error::Error for FontProblem {}

thread_local! {
    /// What `install` came to on this thread (Slint's fonts are per thread, like its windows).
    static INSTALLED: OnceCell<Result<Fonts, FontProblem>> = const { OnceCell::new() };
}

/// Where fontconfig finds the system's fonts on Debian.
const FONT_FOLDERS: [&str; 2] = ["/usr/share/fonts", "/usr/local/share/fonts"];

/// The check to make before Slint starts, for a build that takes the system's fonts: Slint's
/// own look at them (fontique, through fontconfig) panics when the system has no font at all,
/// so that case is told here, with its fix, instead.
pub fn check_before_start() -> Result<(), FontProblem> {
    if Source::OF_THIS_BUILD == Source::System {
        check_any_font_under(&FONT_FOLDERS.map(Path::new))
    } else {
        Ok(())
    }
}

fn check_any_font_under(folders: &[&Path]) -> Result<(), FontProblem> {
    if folders.iter().any(|f| has_font_file(f, 6)) {
        return Ok(());
    }
    let folders: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    Err(FontProblem {
        missing: FACES
            .iter()
            .map(|face| {
                format!(
                    "{} (no font at all is installed under {})",
                    face.name,
                    folders.join(" or ")
                )
            })
            .collect(),
        source: Source::System,
    })
}

/// Whether a font file is in `folder` or below it, at most `depth` folders down.
fn has_font_file(folder: &Path, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            depth > 0 && has_font_file(&path, depth - 1)
        } else {
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                ["ttf", "otf", "ttc", "otc"].contains(&e.to_ascii_lowercase().as_str())
            })
        }
    })
}

/// Makes this build's fonts the kiosk's, once per thread; the Slint platform must be set up.
pub fn install() -> Result<Fonts, FontProblem> {
    install_from(Source::OF_THIS_BUILD)
}

/// Makes the fonts from `source` the kiosk's, unless a source was installed on this thread
/// already (then that one's answer). Logs which files are used.
pub fn install_from(source: Source) -> Result<Fonts, FontProblem> {
    INSTALLED.with(|installed| {
        installed
            .get_or_init(|| {
                let mut collection = slint::fontique_011::shared_collection();
                let result = set_up(&mut collection, source);
                match &result {
                    Ok(fonts) => tracing::info!(%fonts, "fonts"),
                    Err(problem) => tracing::error!("{problem}"),
                }
                result
            })
            .clone()
    })
}

/// Registers and checks the fonts from `source` in `collection`, and makes Droid Sans Fallback
/// the fallback of the scripts it is for.
pub fn set_up(collection: &mut Collection, source: Source) -> Result<Fonts, FontProblem> {
    set_up_under(collection, source, Path::new("/"))
}

/// `set_up`, with the packages' paths under `root`.
fn set_up_under(
    collection: &mut Collection,
    source: Source,
    root: &Path,
) -> Result<Fonts, FontProblem> {
    let mut faces = Vec::new();
    let mut missing = Vec::new();
    if source == Source::BuiltIn {
        for data in BUILT_IN {
            collection.register_fonts(Blob::new(Arc::new(data)), None);
        }
    }
    for face in &FACES {
        let mut found = usable(collection, face, source);
        let file = root.join(face.path.trim_start_matches('/'));
        if found.is_err() && source == Source::System && file.exists() {
            // Not known to fontconfig (no cache, or a configuration that leaves the folder
            // out): the file where the package puts it.
            match std::fs::read(&file) {
                Ok(data) => {
                    collection.register_fonts(Blob::new(Arc::new(data)), None);
                    found = usable(collection, face, source)
                        .map(|_| format!("{}, not through fontconfig", file.display()));
                }
                Err(e) => found = Err(format!("{} cannot be read: {e}", file.display())),
            }
        }
        match found {
            Ok(from) => faces.push((face.name, from)),
            Err(why) => missing.push(format!("{} ({why})", face.name)),
        }
    }
    if !missing.is_empty() {
        return Err(FontProblem { missing, source });
    }
    if let Some(cjk) = collection.family_id(CJK_FAMILY) {
        for script in CJK_SCRIPTS {
            collection.set_fallbacks(
                FallbackKey::new(Script::from_bytes(script), None),
                std::iter::once(cjk),
            );
        }
    }
    Ok(Fonts { faces })
}

/// Where `face` comes from in `collection`, or why it cannot be used.
fn usable(collection: &mut Collection, face: &Face, source: Source) -> Result<String, String> {
    let absent = || match source {
        Source::System => format!(
            "not found through fontconfig nor at {} (package {})",
            face.path, face.package
        ),
        Source::BuiltIn => "not among the built-in fonts".to_owned(),
    };
    let family = collection.family_by_name(face.family).ok_or_else(absent)?;
    let font = family
        .match_font(FontWidth::NORMAL, FontStyle::Normal, face.weight, false)
        .filter(|f| has_weight(f, face.weight) && f.style() == FontStyle::Normal)
        .ok_or_else(|| {
            format!(
                "{} has no face of weight {}",
                face.family,
                face.weight.value()
            )
        })?;
    let from = match &font.source().kind {
        SourceKind::Path(path) => path.display().to_string(),
        SourceKind::Memory(_) => "built in".to_owned(),
    };
    let blob = font
        .load(None)
        .ok_or_else(|| format!("{from} cannot be read"))?;
    let charmap = font
        .charmap_index()
        .charmap(blob.data())
        .ok_or_else(|| format!("{from} has no character map"))?;
    let lacking: String = face
        .sample
        .chars()
        .filter(|&c| charmap.map(c).is_none_or(|glyph| glyph == 0))
        .collect();
    if !lacking.is_empty() {
        return Err(format!("{from} lacks {lacking}"));
    }
    Ok(from)
}

/// Whether a font is of `weight`, or is a variable font whose weight axis reaches it.
fn has_weight(font: &FontInfo, weight: FontWeight) -> bool {
    let w = weight.value();
    (font.weight().value() - w).abs() < 1.0
        || font
            .axes()
            .iter()
            .any(|axis| axis.tag.to_be_bytes() == *b"wght" && axis.min <= w && w <= axis.max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slint::fontique_011::fontique;

    fn empty_collection() -> Collection {
        Collection::new(fontique::CollectionOptions {
            shared: false,
            system_fonts: false,
        })
    }

    #[test]
    fn without_fonts_the_problem_names_each_face_and_the_packages_that_fix_it() {
        let nothing = tempfile::tempdir().unwrap();
        let problem =
            set_up_under(&mut empty_collection(), Source::System, nothing.path()).unwrap_err();
        let text = problem.to_string();
        assert!(
            text.starts_with("no usable font for the kiosk's text: Noto Sans Regular (not found through fontconfig nor at /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf (package fonts-noto-core)); Noto Sans Bold ("),
            "{text}"
        );
        for needed in ["Droid Sans Fallback (not found through fontconfig nor at /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf (package fonts-droid-fallback))", "Fix: install Debian's fonts with `sudo apt install fonts-noto-core fonts-droid-fallback`"] {
            assert!(text.contains(needed), "{needed}: {text}");
        }
    }

    #[test]
    fn a_system_without_any_font_is_told_before_slint_starts() {
        let empty = tempfile::tempdir().unwrap();
        let problem = check_any_font_under(&[empty.path()])
            .unwrap_err()
            .to_string();
        assert!(
            problem.contains("Noto Sans Regular (no font at all is installed under "),
            "{problem}"
        );
        assert!(
            problem.contains("sudo apt install fonts-noto-core fonts-droid-fallback"),
            "{problem}"
        );
        let deep = empty.path().join("truetype/noto");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("NotoSans-Regular.TTF"), b"").unwrap();
        assert_eq!(check_any_font_under(&[empty.path()]), Ok(()));
    }

    #[test]
    fn fonts_unknown_to_fontconfig_are_found_where_the_packages_put_them() {
        let root = tempfile::tempdir().unwrap();
        let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts");
        for (face, file) in FACES.iter().zip([
            "NotoSans-Regular.ttf",
            "NotoSans-Bold.ttf",
            "DroidSansFallbackFull.ttf",
        ]) {
            let at = root.path().join(face.path.trim_start_matches('/'));
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::copy(assets.join(file), &at).unwrap();
        }
        let mut collection = empty_collection();
        let fonts = set_up_under(&mut collection, Source::System, root.path()).unwrap();
        for ((_, from), face) in fonts.faces.iter().zip(&FACES) {
            assert_eq!(
                from,
                &format!(
                    "{}{}, not through fontconfig",
                    root.path().display(),
                    face.path
                )
            );
        }
        assert!(collection.family_id(CJK_FAMILY).is_some());
    }

    #[test]
    fn a_font_without_the_letters_is_not_usable() {
        let mut collection = empty_collection();
        // Noto Sans registered under Droid's name: it has no Chinese.
        collection.register_fonts(
            Blob::new(Arc::new(
                std::fs::read(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/assets/fonts/NotoSans-Regular.ttf"
                ))
                .unwrap(),
            )),
            Some(fontique::FontInfoOverride {
                family_name: Some(CJK_FAMILY),
                ..Default::default()
            }),
        );
        let why = usable(&mut collection, &FACES[2], Source::BuiltIn).unwrap_err();
        assert_eq!(why, "built in lacks 中文您好谢");
        // And Regular is not Bold.
        let why = usable(&mut collection, &FACES[1], Source::BuiltIn).unwrap_err();
        assert_eq!(why, "not among the built-in fonts");
    }

    #[cfg(feature = "embedded-fonts")]
    #[test]
    fn the_built_in_fonts_are_usable_and_chinese_falls_back_to_droid() {
        let mut collection = empty_collection();
        let fonts = set_up(&mut collection, Source::BuiltIn).unwrap();
        assert_eq!(fonts.to_string(), "Noto Sans Regular (built in), Noto Sans Bold (built in), Droid Sans Fallback (built in)");
        let droid = collection.family_id(CJK_FAMILY).unwrap();
        let fallbacks: Vec<_> = collection
            .fallback_families(FallbackKey::new(Script::from_bytes(*b"Hani"), None))
            .collect();
        assert_eq!(fallbacks, [droid]);
    }

    /// The device's way, on this machine: scripts/test installs the packages.
    #[test]
    fn debians_font_packages_are_found_through_fontconfig() {
        let mut collection = Collection::new(fontique::CollectionOptions {
            shared: false,
            system_fonts: true,
        });
        let fonts = set_up(&mut collection, Source::System).unwrap_or_else(|p| panic!("{p}"));
        let paths: Vec<&str> = fonts.faces.iter().map(|(_, from)| from.as_str()).collect();
        assert_eq!(paths, FACES.map(|f| f.path), "{fonts}");
    }
}
