//! Static SVG histograms for the HTML report (inter-topic offsets, latencies, set spreads).

use std::fmt::Write;

use super::html::escape;
use super::summary::duration;

/// Bars in a histogram.
const BINS: usize = 40;

/// An SVG histogram of `values` (ns) titled `title`, the 1st to 99th percentile binned (values
/// outside are counted in the end bins), or a line saying there is nothing to show.
pub fn svg(title: &str, values: &[i64], color: &str) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) else {
        return format!(
            "<figure class=\"hist\"><figcaption>{}</figcaption><p>no values</p></figure>",
            escape(title)
        );
    };
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let (mut lo, mut hi) = (at(0.01), at(0.99));
    if hi <= lo {
        (lo, hi) = (first, last.max(first.saturating_add(1)));
    }
    let width = hi.saturating_sub(lo) as f64 / BINS as f64;
    let mut counts = [0usize; BINS];
    for &v in &sorted {
        let bin = ((v.saturating_sub(lo) as f64 / width).floor().max(0.0) as usize).min(BINS - 1);
        counts[bin] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1);
    let (w, h, bar) = (360.0, 120.0, 360.0 / BINS as f64);
    let mut svg = format!(
        "<figure class=\"hist\"><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {}\" width=\"{w}\" height=\"{}\" role=\"img\">",
        escape(title),
        h + 18.0,
        h + 18.0
    );
    for (i, &n) in counts.iter().enumerate() {
        let bh = n as f64 / most as f64 * h;
        let from = lo as f64 + i as f64 * width;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{} .. {}: {n}</title></rect>",
            i as f64 * bar,
            h - bh,
            (bar - 1.0).max(0.5),
            duration(from as i64),
            duration((from + width) as i64)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\" class=\"axis\">{}</text><text x=\"{w}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text></svg>",
        h + 14.0,
        escape(&duration(lo)),
        h + 14.0,
        escape(&duration(hi))
    );
    let _ = write!(
        svg,
        "<p class=\"caption\">{} values, median {}</p></figure>",
        sorted.len(),
        escape(&duration(at(0.5)))
    );
    svg
}
