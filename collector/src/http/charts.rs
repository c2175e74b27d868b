//! The results' charts, drawn on the server as SVG by charts-rs. Every chart sits beside a
//! table with the same numbers, which is what screen readers and the CSV use; the chart is
//! marked as an image with a text alternative.

use std::collections::BTreeMap;

use charts_rs::{BarChart, LineChart, Series};

/// Wraps a chart's SVG for a page: an image role and its alternative text. The labels in a
/// chart are scale values and dates the collector made itself, never visitors' text.
fn figure<E>(svg: Result<String, E>, alt: &str) -> String {
    match svg {
        Ok(svg) => format!(
            "<div role=\"img\" aria-label=\"{}\">{svg}</div>",
            alt.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
        ),
        Err(_) => String::new(),
    }
}

/// The rating distribution: one bar per value of each scale.
pub fn distribution(distribution: &BTreeMap<String, Vec<(i64, u64)>>) -> String {
    let mut labels = Vec::new();
    let mut counts = Vec::new();
    let several = distribution.len() > 1;
    for (scale, values) in distribution {
        for (value, count) in values {
            labels.push(if several {
                format!("{} {value}", crate::results::scale_words(scale))
            } else {
                value.to_string()
            });
            counts.push(*count as f32);
        }
    }
    if labels.is_empty() {
        return String::new();
    }
    let mut chart = BarChart::new(vec![Series::new("responses".into(), counts)], labels);
    chart.width = 640.0;
    chart.height = 300.0;

    figure(
        chart.svg(),
        "Bar chart of the rating distribution; the table below has the same numbers",
    )
}

/// Responses per day or week.
pub fn trend(by_day: &BTreeMap<String, (u64, Option<f64>)>) -> String {
    if by_day.is_empty() {
        return String::new();
    }
    let labels: Vec<String> = by_day.keys().cloned().collect();
    let counts: Vec<f32> = by_day.values().map(|(n, _)| *n as f32).collect();
    let mut chart = LineChart::new(vec![Series::new("responses".into(), counts)], labels);
    chart.width = 640.0;
    chart.height = 300.0;

    figure(
        chart.svg(),
        "Line chart of responses over time; the table below has the same numbers",
    )
}
