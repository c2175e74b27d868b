//! The device's fonts: the device build carries none and takes Debian's (fonts-noto-core,
//! fonts-droid-fallback) at run time. Here the same screens are drawn twice, each in a process
//! of its own (Slint's fonts are set up once per process): with the fonts built into this
//! build, and with the system's, as on the device. The pictures must be the same pixel for
//! pixel: no glyph may vanish or change, in English, Welsh, Polish or Chinese, nor the
//! language names ("中文") shown on every screen. scripts/test installs the packages.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use earshot::system::fonts::Source;
use slint::ComponentHandle;

use crate::common::{self, advance, TestKiosk};

const SOURCE_VARIABLE: &str = "EARSHOT_TEST_FONT_SOURCE";
const OUT_VARIABLE: &str = "EARSHOT_TEST_FONT_OUT";
const SCREENS: [&str; 5] = [
    "attract",
    "language",
    "choice-zh_CN",
    "rating-pl",
    "attract-cy",
];

fn draw_in_a_process(source: &str, out: &Path) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            // As the harness names it in this binary: with its module.
            "system_fonts::draws_the_screens",
            "--ignored",
            "--test-threads=1",
        ])
        .env(SOURCE_VARIABLE, source)
        .env(OUT_VARIABLE, out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "drawing with the {source} fonts failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for screen in SCREENS {
        assert!(
            out.join(screen).exists(),
            "{source}: no picture of {screen}"
        );
    }
}

#[test]
fn the_systems_fonts_draw_what_the_built_in_ones_draw() {
    let dir = tempfile::tempdir().unwrap();
    let (built_in, system) = (dir.path().join("built-in"), dir.path().join("system"));
    draw_in_a_process("built-in", &built_in);
    draw_in_a_process("system", &system);
    let mut different = Vec::new();
    for screen in SCREENS {
        let a = std::fs::read(built_in.join(screen)).unwrap();
        let b = std::fs::read(system.join(screen)).unwrap();
        assert_eq!(a.len(), b.len());
        let pixels = a.chunks(4).zip(b.chunks(4)).filter(|(x, y)| x != y).count();
        if pixels > 0 {
            different.push(format!("{screen}: {pixels} pixels"));
        }
    }
    assert!(
        different.is_empty(),
        "the system's fonts draw differently from the built-in ones: {}",
        different.join(", ")
    );
}

/// One process's half of the test above: draws the screens into the folder it is given.
#[test]
#[ignore = "run by the_systems_fonts_draw_what_the_built_in_ones_draw, in a process of its own"]
fn draws_the_screens() {
    let source = match std::env::var(SOURCE_VARIABLE).as_deref() {
        Ok("built-in") => Source::BuiltIn,
        Ok("system") => Source::System,
        _ => return,
    };
    let out = PathBuf::from(std::env::var_os(OUT_VARIABLE).unwrap());
    std::fs::create_dir_all(&out).unwrap();
    common::on_slint_thread(move || draw(source, &out));
}

/// Draws the screens into `out` with the fonts from `source`, on the Slint thread.
fn draw(source: Source, out: &Path) {
    // Before the first kiosk, which would set up this build's own.
    let fonts = earshot::system::fonts::install_from(source).unwrap_or_else(|p| panic!("{p}"));
    println!("{fonts}");
    if source == Source::System {
        assert!(
            fonts
                .faces
                .iter()
                .all(|(_, from)| from.starts_with("/usr/share/fonts/")),
            "{fonts}"
        );
    }
    let shoot = |k: &TestKiosk, name: &str| {
        k.ui.window
            .window()
            .set_size(slint::PhysicalSize::new(800, 480));
        advance(Duration::from_millis(20));
        let shot =
            k.ui.window
                .window()
                .take_snapshot()
                .expect("the software renderer draws");
        std::fs::write(out.join(name), shot.as_bytes()).unwrap();
    };
    let k = TestKiosk::new("shop");
    shoot(&k, "attract");
    k.tap("Start");
    k.tap("Language");
    shoot(&k, "language");
    k.tap("中文");
    shoot(&k, "choice-zh_CN");
    let zh = |s| common::translated("zh_CN", s);
    k.tap(&zh("Start again"));
    k.tap("Polski");
    let pl = |s| common::translated("pl", s);
    k.tap(&pl("Start"));
    k.tap("Kolejka do kasy");
    shoot(&k, "rating-pl");
    k.tap(&pl("Start again"));
    k.tap("Cymraeg");
    shoot(&k, "attract-cy");
}
