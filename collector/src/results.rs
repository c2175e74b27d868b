//! The figures a results page shows, made from the store's aggregates. Pure: no I/O, so every
//! figure's definition is tested on numbers worked out by hand.
//!
//! Definitions (also in docs/results.md):
//! - **Satisfaction index**, 0–100: the mean of the main face or star ratings, each mapped
//!   onto 0–100 by (v − 1) / (points − 1) × 100 (five faces: 1 → 0, 3 → 50, 5 → 100).
//! - **NPS**: the percentage of 9–10 answers minus the percentage of 0–6 answers, −100 to
//!   100, over every response that answered a 0–10 question, main rating or not.
//! - **Completion rate**: completed responses over all counted responses.
//! - **Ranking**: each site's index pulled toward the overall index by `SHRINKAGE_WEIGHT`
//!   responses' worth, (n × site + k × overall) / (n + k), so a site with three glowing
//!   responses does not top a table of sites with hundreds.
//! - Misuse-flagged responses are counted apart and are in none of the other figures.
//! - Days and hours are the site's local ones.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::store::Aggregates;

pub const SHRINKAGE_WEIGHT: f64 = 10.0;
pub const TOP_REASONS: usize = 5;

/// A scale as people call it.
pub fn scale_words(scale: &str) -> String {
    match scale {
        "smiley4" => "Four faces".into(),
        "smiley5" => "Five faces".into(),
        "stars5" => "Five stars".into(),
        "nps" => "0–10".into(),
        other => other.to_string(),
    }
}

/// The index value of one rating, if its scale has one.
pub fn index_of(scale: &str, value: i64) -> Option<f64> {
    let points = match scale {
        "smiley4" => 4.0,
        "smiley5" | "stars5" => 5.0,
        _ => return None,
    };
    Some((value as f64 - 1.0) / (points - 1.0) * 100.0)
}

/// Three times `index_of`, which is a whole number on every scale (a third of 100 per step
/// of four faces, 25 per step of five): sums of it are kept exact.
pub fn index_thirds(scale: &str, value: i64) -> Option<i64> {
    match scale {
        "smiley4" => Some((value - 1) * 100),
        "smiley5" | "stars5" => Some((value - 1) * 75),
        _ => None,
    }
}

/// How a main rating felt: unhappy for the two lowest faces or stars and NPS 0–6, happy for
/// the two highest and NPS 9–10, neutral between, and "" without a main rating. Follow-up
/// reasons are counted by it.
pub fn mood(rating: Option<(&str, i64)>) -> &'static str {
    match rating {
        None => "",
        Some(("nps", v)) if v <= 6 => "unhappy",
        Some(("nps", v)) if v >= 9 => "happy",
        Some(("nps", _)) => "neutral",
        Some((_, v)) if v <= 2 => "unhappy",
        Some(("smiley4", v)) if v >= 3 => "happy",
        Some((_, v)) if v >= 4 => "happy",
        Some(_) => "neutral",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteRank {
    pub site: String,
    pub responses: u64,
    /// The site's own index.
    pub index: f64,
    /// Its index pulled toward the overall one, by which the table is ordered.
    pub ranked_index: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub responses: u64,
    pub completed: u64,
    pub misuse: u64,
    pub completion_rate: Option<f64>,
    pub index: Option<f64>,
    pub index_responses: u64,
    pub nps: Option<f64>,
    pub nps_responses: u64,
    /// Per scale: (value, count), every value of the scale listed.
    pub distribution: BTreeMap<String, Vec<(i64, u64)>>,
    /// (step, option, count), most chosen first.
    pub unhappy_reasons: Vec<(String, String, u64)>,
    pub happy_reasons: Vec<(String, String, u64)>,
    /// Local day (YYYY-MM-DD) → (responses, index).
    pub by_day: BTreeMap<String, (u64, Option<f64>)>,
    /// ISO week of the local day (YYYY-Www) → (responses, index).
    pub by_week: BTreeMap<String, (u64, Option<f64>)>,
    /// [weekday Monday = 0][local hour] → responses.
    pub heat: [[u64; 24]; 7],
    pub ranking: Vec<SiteRank>,
}

fn scale_values(scale: &str) -> std::ops::RangeInclusive<i64> {
    match scale {
        "smiley4" => 1..=4,
        "nps" => 0..=10,
        _ => 1..=5,
    }
}

fn mean(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// `reason_steps`: the (survey, step) pairs that are follow-up reason steps, as the survey
/// files say; `None` when the collector has no surveys, and then every chosen option counts.
pub fn figures(a: &Aggregates, reason_steps: Option<&HashSet<(String, String)>>) -> Figures {
    let mut distribution: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    let (mut index_sum, mut index_n) = (0.0, 0u64);
    let (mut promoters, mut detractors, mut nps_n) = (0u64, 0u64, 0u64);
    let mut per_site: HashMap<&str, (f64, u64)> = HashMap::new();
    for (site, scale, value, count) in &a.ratings {
        let entry = distribution
            .entry(scale.clone())
            .or_insert_with(|| scale_values(scale).map(|v| (v, 0)).collect());
        if let Some(slot) = entry.iter_mut().find(|(v, _)| v == value) {
            slot.1 += count;
        }
        if let Some(i) = index_of(scale, *value) {
            index_sum += i * *count as f64;
            index_n += count;
            let s = per_site.entry(site.as_str()).or_default();
            s.0 += i * *count as f64;
            s.1 += count;
        }
    }
    for (value, count) in &a.nps {
        nps_n += count;
        match value {
            9..=10 => promoters += count,
            0..=6 => detractors += count,
            _ => {}
        }
    }
    let index = mean(index_sum, index_n);
    let nps = (nps_n > 0).then(|| (promoters as f64 - detractors as f64) / nps_n as f64 * 100.0);

    let mut reasons: [HashMap<(String, String), u64>; 2] = Default::default();
    for (survey, step, option, mood, count) in &a.choices {
        if let Some(steps) = reason_steps {
            if !steps.contains(&(survey.clone(), step.clone())) {
                continue;
            }
        }
        let which = match mood.as_str() {
            "unhappy" => 0,
            "happy" => 1,
            _ => continue,
        };
        *reasons[which]
            .entry((step.clone(), option.clone()))
            .or_default() += count;
    }
    let top = |map: &HashMap<(String, String), u64>| {
        let mut list: Vec<(String, String, u64)> = map
            .iter()
            .map(|((s, o), n)| (s.clone(), o.clone(), *n))
            .collect();
        list.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| (&x.0, &x.1).cmp(&(&y.0, &y.1))));
        list.truncate(TOP_REASONS);
        list
    };

    let mut by_day: BTreeMap<String, (u64, f64, u64)> = BTreeMap::new();
    let mut by_week: BTreeMap<String, (u64, f64, u64)> = BTreeMap::new();
    for (day, count, thirds, n) in &a.days {
        let Some(date) = crate::periods::date_of_day(*day) else {
            continue;
        };
        let sum = *thirds as f64 / 3.0;
        let d = by_day.entry(date.to_string()).or_insert((0, 0.0, 0));
        d.0 += count;
        d.1 += sum;
        d.2 += n;
        let iso = date.iso_week_date();
        let week = by_week
            .entry(format!("{}-W{:02}", iso.year(), iso.week()))
            .or_insert((0, 0.0, 0));
        week.0 += count;
        week.1 += sum;
        week.2 += n;
    }
    let heat = a.heat;

    let mut ranking: Vec<SiteRank> = per_site
        .into_iter()
        .map(|(site, (sum, n))| {
            let own = sum / n as f64;
            let overall = index.unwrap_or(own);
            SiteRank {
                site: site.to_string(),
                responses: n,
                index: own,
                ranked_index: (n as f64 * own + SHRINKAGE_WEIGHT * overall)
                    / (n as f64 + SHRINKAGE_WEIGHT),
            }
        })
        .collect();
    ranking.sort_by(|x, y| {
        y.ranked_index
            .total_cmp(&x.ranked_index)
            .then_with(|| x.site.cmp(&y.site))
    });

    Figures {
        responses: a.counted,
        completed: a.completed,
        misuse: a.misuse,
        completion_rate: (a.counted > 0).then(|| a.completed as f64 / a.counted as f64 * 100.0),
        index,
        index_responses: index_n,
        nps,
        nps_responses: nps_n,
        distribution,
        unhappy_reasons: top(&reasons[0]),
        happy_reasons: top(&reasons[1]),
        by_day: by_day
            .into_iter()
            .map(|(d, (n, sum, k))| (d, (n, mean(sum, k))))
            .collect(),
        by_week: by_week
            .into_iter()
            .map(|(w, (n, sum, k))| (w, (n, mean(sum, k))))
            .collect(),
        heat,
        ranking,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::periods::day_number;
    use jiff::civil::date;

    #[test]
    fn the_index_maps_each_scale_onto_0_to_100() {
        assert_eq!(index_of("smiley5", 1), Some(0.0));
        assert_eq!(index_of("smiley5", 3), Some(50.0));
        assert_eq!(index_of("stars5", 5), Some(100.0));
        assert!((index_of("smiley4", 2).unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(index_of("nps", 9), None);
        for (scale, points) in [("smiley4", 4), ("smiley5", 5), ("stars5", 5)] {
            for v in 1..=points {
                let thirds = index_thirds(scale, v).unwrap() as f64;
                assert!((thirds / 3.0 - index_of(scale, v).unwrap()).abs() < 1e-9);
            }
        }
        assert_eq!(index_thirds("nps", 10), None);
    }

    #[test]
    fn moods_follow_the_ends_of_each_scale() {
        let moods: Vec<&str> = (1..=5).map(|v| mood(Some(("smiley5", v)))).collect();
        assert_eq!(moods, ["unhappy", "unhappy", "neutral", "happy", "happy"]);
        let moods: Vec<&str> = (1..=4).map(|v| mood(Some(("smiley4", v)))).collect();
        assert_eq!(moods, ["unhappy", "unhappy", "happy", "happy"]);
        let moods: Vec<&str> = (0..=10).map(|v| mood(Some(("nps", v)))).collect();
        assert_eq!(&moods[..7], ["unhappy"; 7]);
        assert_eq!(&moods[7..], ["neutral", "neutral", "happy", "happy"]);
        assert_eq!(mood(None), "");
    }

    #[test]
    fn figures_from_worked_numbers() {
        let a = Aggregates {
            total: 16,
            counted: 15,
            completed: 12,
            misuse: 1,
            ratings: vec![
                ("big".into(), "smiley5".into(), 5, 8),
                ("big".into(), "smiley5".into(), 1, 2),
                ("small".into(), "smiley5".into(), 5, 3),
                ("big".into(), "nps".into(), 10, 5),
                ("big".into(), "nps".into(), 8, 3),
                ("big".into(), "nps".into(), 3, 2),
            ],
            nps: vec![(10, 5), (8, 3), (3, 2)],
            choices: vec![
                (
                    "s".into(),
                    "why".into(),
                    "queue".into(),
                    "unhappy".into(),
                    2,
                ),
                ("s".into(), "why".into(), "staff".into(), "happy".into(), 9),
                ("s".into(), "why".into(), "clean".into(), "happy".into(), 4),
                (
                    "s".into(),
                    "service".into(),
                    "checkout".into(),
                    "happy".into(),
                    40,
                ),
            ],
            days: vec![
                (day_number(date(2026, 11, 23)), 3, 900, 3),
                (day_number(date(2026, 11, 24)), 1, 0, 1),
            ],
            heat: {
                let mut heat = [[0; 24]; 7];
                heat[0][23] = 3;
                heat[1][0] = 1;
                heat
            },
            ..Default::default()
        };
        let reasons: HashSet<(String, String)> = [("s".to_string(), "why".to_string())].into();
        let f = figures(&a, Some(&reasons));
        assert_eq!(f.completion_rate, Some(80.0));
        // (8 × 100 + 2 × 0 + 3 × 100) / 13
        assert!((f.index.unwrap() - 1100.0 / 13.0).abs() < 1e-9);
        // 5 promoters, 2 detractors of 10
        assert_eq!(f.nps, Some(30.0));
        assert_eq!(
            f.distribution["smiley5"],
            [(1, 2), (2, 0), (3, 0), (4, 0), (5, 11)]
        );
        assert_eq!(f.distribution["nps"].len(), 11);
        assert_eq!(f.unhappy_reasons, [("why".into(), "queue".into(), 2)]);
        assert_eq!(
            f.happy_reasons,
            [
                ("why".into(), "staff".into(), 9),
                ("why".into(), "clean".into(), 4)
            ]
        );
        // big: 80 over 10 → (10 × 80 + 10 × 84.6) / 20 = 82.3; small: 100 over 3 →
        // (3 × 100 + 10 × 84.6) / 13 = 88.2: still first, but pulled most of the way down.
        let overall = 1100.0 / 13.0;
        assert_eq!(f.ranking[0].site, "small");
        assert_eq!(f.ranking[0].index, 100.0);
        assert!((f.ranking[0].ranked_index - (300.0 + 10.0 * overall) / 13.0).abs() < 1e-9);
        assert!((f.ranking[1].ranked_index - (800.0 + 10.0 * overall) / 20.0).abs() < 1e-9);
        assert_eq!(f.by_day["2026-11-23"].0, 3);
        assert_eq!(f.by_day["2026-11-24"].0, 1);
        // Monday 23 and Tuesday 24 November 2026 are both in ISO week 48.
        assert_eq!(f.by_week["2026-W48"].0, 4);
        assert_eq!(f.by_week["2026-W48"].1, Some(75.0));
        assert_eq!(f.heat[0][23], 3);
        assert_eq!(f.heat[1][0], 1);
    }

    #[test]
    fn a_site_with_three_perfect_responses_does_not_top_one_with_hundreds() {
        let a = Aggregates {
            ratings: vec![
                ("tiny".into(), "smiley5".into(), 5, 3),
                ("large".into(), "smiley5".into(), 5, 450),
                ("large".into(), "smiley5".into(), 4, 50),
                ("low".into(), "smiley5".into(), 2, 300),
            ],
            ..Default::default()
        };
        let f = figures(&a, None);
        let order: Vec<&str> = f.ranking.iter().map(|r| r.site.as_str()).collect();
        assert_eq!(order, ["large", "tiny", "low"]);
        assert!(f.ranking[1].ranked_index < f.ranking[1].index);
    }
}
