//! The surveys a collector accepts responses for, read from a folder of survey files (the same
//! files the kiosks use) and checked exactly as `earshot check-survey` checks them, by the same
//! parser (`earshot-survey`).
//!
//! Invariants: every `*.toml` in the folder is read and parsed in full, and the collector does
//! not start while one of them cannot be read or is not a valid survey: a collector that
//! silently left a survey out would reject its responses. Each problem is reported as
//! `earshot check-survey` reports it (file, line, field, problem, fix), every problem of every
//! file in one go. An (id, version) pair stands for one survey: two files with the same pair
//! that define different surveys are refused, naming both. No file is read past
//! `MAX_SURVEY_FILE_BYTES`.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use earshot_survey::Survey;

use crate::ingest::KnownSurveys;

/// Every survey version in the surveys folder, parsed, by (id, version).
#[derive(Debug, Clone, Default)]
pub struct SurveyCatalog {
    surveys: BTreeMap<(String, String), Loaded>,
}

/// A survey and the file it came from, for naming both files of a conflict.
#[derive(Debug, Clone)]
struct Loaded {
    file: PathBuf,
    survey: Survey,
}

impl SurveyCatalog {
    /// The (id, version) pairs responses are judged against.
    pub fn known(&self) -> KnownSurveys {
        KnownSurveys(self.surveys.keys().cloned().collect())
    }

    /// The survey with this id and version, if the folder has it.
    pub fn get(&self, id: &str, version: &str) -> Option<&Survey> {
        self.surveys
            .get(&(id.to_string(), version.to_string()))
            .map(|loaded| &loaded.survey)
    }

    /// Every survey version, oldest version of each id first.
    pub fn surveys(&self) -> impl Iterator<Item = &Survey> {
        self.surveys.values().map(|loaded| &loaded.survey)
    }

    /// How many survey versions there are.
    pub fn len(&self) -> usize {
        self.surveys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.surveys.is_empty()
    }
}

/// A survey file's text, refused unread past `MAX_SURVEY_FILE_BYTES`: the length is
/// checked first and the read is capped too, since a FIFO or a growing file can say less.
fn read_survey_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let limit = earshot_protocol::MAX_SURVEY_FILE_BYTES;
    let too_large = || {
        format!(
            "survey {} is larger than {} KiB, the most a survey file may be; it is probably \
             not a survey (check the surveys folder)",
            path.display(),
            limit / 1024
        )
    };
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read survey {}: {e}", path.display()))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) > limit {
        return Err(too_large());
    }
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read survey {}: {e}", path.display()))?;
    if text.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(text)
}

/// Reads and checks every `*.toml` in `dir`. The error lists every problem found, of every
/// file, so that the folder can be put right in one pass.
pub fn load(dir: &Path) -> Result<SurveyCatalog, String> {
    let folder_error =
        |e: std::io::Error| format!("cannot read the surveys folder {}: {e}", dir.display());
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(folder_error)? {
        let path = entry.map_err(folder_error)?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            paths.push(path);
        }
    }
    // In name order, so that the problems, and which of two conflicting files is named
    // first, are the same at every start.
    paths.sort();
    if paths.is_empty() {
        // An empty catalogue would accept every survey: not what naming a folder asks for.
        return Err(format!(
            "the surveys folder {} holds no survey files (*.toml); put the survey files the \
             kiosks show in it, or leave out --surveys to accept every survey",
            dir.display()
        ));
    }

    let mut catalog = SurveyCatalog::default();
    let mut problems = Vec::new();
    for path in paths {
        let text = match read_survey_file(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        // Named as the kiosk names a file given to `check-survey`, so that each problem
        // reads the same on both sides.
        let name = path.display().to_string();
        let survey = match earshot_survey::parse(&text, &name) {
            Ok(survey) => survey,
            Err(errors) => {
                problems.push(format!("{errors}\n{name}: {} problem(s)", errors.0.len()));
                continue;
            }
        };
        match catalog
            .surveys
            .entry((survey.id.clone(), survey.version.clone()))
        {
            Entry::Vacant(slot) => {
                slot.insert(Loaded { file: path, survey });
            }
            // A second copy of the same survey (a file kept under another name) changes
            // nothing; only files that differ in what they ask are a conflict, not in
            // comments or layout.
            Entry::Occupied(first) if first.get().survey == survey => {}
            Entry::Occupied(first) => problems.push(format!(
                "{} and {name} are both survey \"{}\" version \"{}\", but they differ. Fix: a \
                 response names its survey only by id and version, so give the changed survey \
                 a new `version` (in the file the kiosks show too), or remove the file that is \
                 out of date",
                first.get().file.display(),
                survey.id,
                survey.version
            )),
        }
    }
    if problems.is_empty() {
        return Ok(catalog);
    }
    Err(format!(
        "the surveys in {} cannot all be used, so the collector does not start (it would \
         reject the responses to a survey it left out):\n{}",
        dir.display(),
        problems.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = include_str!("../../assets/surveys/shop.toml");

    fn demo_folder() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/surveys")
    }

    #[test]
    fn the_demo_surveys_load_parsed() {
        let catalog = load(&demo_folder()).unwrap();
        assert_eq!(catalog.len(), 2);
        let mut known: Vec<_> = catalog.known().0.into_iter().collect();
        known.sort();
        let pair = |id: &str| (id.to_string(), "2026-11-23".to_string());
        assert_eq!(known, [pair("council-services"), pair("shop-feedback")]);
        let shop = catalog.get("shop-feedback", "2026-11-23").unwrap();
        assert_eq!(shop.steps.len(), 6);
        assert!(catalog.get("shop-feedback", "1999-01-01").is_none());
    }

    #[test]
    fn a_broken_survey_is_refused_with_each_problem_as_check_survey_gives_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shop.toml"), SHOP).unwrap();
        let broken = SHOP.replace("scale = \"smiley5\"", "scale = \"smily5\"");
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, &broken).unwrap();
        let e = load(dir.path()).unwrap_err();

        let line = broken
            .lines()
            .position(|l| l == "scale = \"smily5\"")
            .unwrap()
            + 1;
        let expected = format!(
            "{}:{line}: steps[1].scale: `smily5` is not a rating scale. Fix: did you mean \
             \"smiley5\"?",
            path.display()
        );
        assert!(e.contains(&expected), "{e}");
        // Word for word what `earshot check-survey` prints for the file.
        let errors = earshot_survey::parse(&broken, &path.display().to_string()).unwrap_err();
        assert!(e.contains(&errors.to_string()), "{e}");
        assert!(
            e.contains(&format!("{}: 1 problem(s)", path.display())),
            "{e}"
        );
        // The good file beside it is not what is wrong.
        assert!(!e.contains("shop.toml:"), "{e}");
    }

    #[test]
    fn the_same_survey_version_with_different_content_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), SHOP).unwrap();
        // A copy that differs only in its comments is the same survey.
        std::fs::write(dir.path().join("b.toml"), format!("# a copy\n{SHOP}")).unwrap();
        assert_eq!(load(dir.path()).unwrap().len(), 1);

        let changed = SHOP.replace("How was your visit today?", "How was your day?");
        assert_ne!(changed, SHOP);
        std::fs::write(dir.path().join("c.toml"), changed).unwrap();
        let e = load(dir.path()).unwrap_err();
        let a = dir.path().join("a.toml");
        let c = dir.path().join("c.toml");
        assert!(
            e.contains(&format!(
                "{} and {} are both survey \"shop-feedback\" version \"2026-11-23\", but they \
                 differ",
                a.display(),
                c.display()
            )),
            "{e}"
        );
        assert!(e.contains("new `version`"), "{e}");
    }

    #[test]
    fn a_survey_file_over_the_limit_is_refused_unparsed() {
        let dir = tempfile::tempdir().unwrap();
        let big = SHOP.to_string()
            + &"# padding\n".repeat(earshot_protocol::MAX_SURVEY_FILE_BYTES as usize / 10 + 1);
        std::fs::write(dir.path().join("big.toml"), big).unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(e.contains("big.toml") && e.contains("2048 KiB"), "{e}");
        std::fs::write(dir.path().join("big.toml"), SHOP).unwrap();
        assert_eq!(load(dir.path()).unwrap().known().0.len(), 1);
    }

    #[test]
    fn a_surveys_folder_with_no_survey_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(dir.path()).err().unwrap();
        assert!(e.contains("holds no survey files"), "{e}");
    }
}
