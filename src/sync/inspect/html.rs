//! The HTML report: one self-contained file (inline CSS, SVG and script, nothing fetched when
//! viewed) with the diagnosis, the advice, a zoomable timeline (each message a mark on its
//! topic's row, each set a line joining its members, drops coloured by reason; an aggregate
//! overview when too many messages are in view), histograms and the terminal summary.
//!
//! The timeline's SVG (`#timeline-svg`) tells what it shows: `data-mode` (`detail` or
//! `overview`), `data-messages-shown` (marks of class `msg`) and `data-sets-shown` (lines of
//! class `set`). A `#view=FROM,TO` fragment (seconds from the first stamp) opens a window.

use std::fmt::Write;

use serde_json::json;

use crate::sync::DropReason;

use super::histogram;
use super::replay::Fate;
use super::summary::setting;
use super::Inspection;

/// Drop reasons in the order of their fate codes (code = index + 1; 0 is "in a set").
const REASONS: [DropReason; 11] = [
    DropReason::QueueOverflow,
    DropReason::OutsideMaxInterval,
    DropReason::PivotOverflowed,
    DropReason::Superseded,
    DropReason::Replaced,
    DropReason::StampWentBack,
    DropReason::TimeJumpedBack,
    DropReason::Reset,
    DropReason::UnknownChannel,
    DropReason::Outdated,
    DropReason::OutsideEpsilon,
];

/// Fate code of a message still held at the end.
const PENDING: u8 = 255;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text with `code` spans made into `<code>` elements (the diagnosis quotes topic names so).
fn with_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// The report of `inspection` as one HTML page; `source` names what was inspected (a log
/// path, or live topics).
pub fn report(inspection: &Inspection, source: &str) -> String {
    let topics = inspection.recording.topics();
    let seconds = inspection.stats.duration_ns as f64 / 1e9;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>rosync sync inspect: {}</title><style>{}</style></head><body>\n",
        escape(source),
        include_str!("report.css")
    );
    let _ = writeln!(
        page,
        "<h1>Synchronizer inspection</h1><p class=\"sub\">{} &middot; {} messages on {} topics over {seconds:.2} s &middot; {}: {} sets ({:.2}/s)</p>",
        escape(source),
        inspection.recording.messages().len(),
        topics.len(),
        escape(&setting(&inspection.outcome.config)),
        inspection.outcome.sets.len(),
        inspection.stats.sets_per_second
    );
    page.push_str("<section id=\"diagnosis\"><h2>Diagnosis</h2><ul>");
    if inspection.findings.is_empty() {
        page.push_str("<li>No problem found.</li>");
    }
    for (i, f) in inspection.findings.iter().enumerate() {
        let class = if i == 0 && f.kind.is_problem() {
            "main"
        } else if f.kind.is_problem() {
            "problem"
        } else {
            "note"
        };
        let _ = write!(
            page,
            "<li class=\"{class}\" data-kind=\"{}\">{}</li>",
            f.kind.as_str(),
            with_code(&f.text)
        );
    }
    page.push_str("</ul></section>\n");
    advice_section(&mut page, inspection, seconds);
    page.push_str(
        "<section id=\"timeline\"><h2>Timeline</h2><div class=\"controls\"><button id=\"all\">whole log</button><button id=\"zin\">zoom in</button><button id=\"zout\">zoom out</button><span id=\"range\"></span><span class=\"hint\">wheel: zoom, drag: pan</span></div><div id=\"legend\"></div><svg id=\"timeline-svg\" xmlns=\"http://www.w3.org/2000/svg\"></svg><div id=\"info\">&nbsp;</div></section>\n",
    );
    histograms(&mut page, inspection);
    let _ = writeln!(
        page,
        "<section id=\"summary\"><h2>Summary</h2><pre>{}</pre></section>",
        escape(&inspection.to_string())
    );
    let data = timeline_data(inspection).to_string().replace("</", "<\\/");
    let _ = write!(
        page,
        "<script id=\"data\" type=\"application/json\">{data}</script>\n<script>{}</script>\n</body></html>\n",
        include_str!("report.js")
    );
    page
}

fn advice_section(page: &mut String, inspection: &Inspection, seconds: f64) {
    let topics = inspection.recording.topics();
    let a = &inspection.advice;
    let _ = write!(
        page,
        "<section id=\"advice\"><h2>Advice</h2><p>From {} settings replayed on this data.</p><table><tr><th></th><th>setting</th><th>sets</th><th>sets/s</th>",
        a.tried
    );
    for t in topics {
        let _ = write!(page, "<th>dropped on <code>{}</code></th>", escape(t));
    }
    page.push_str("</tr>");
    let mut rows = vec![("current", &a.current), ("recommended", &a.recommended)];
    rows.extend(a.alternatives.iter().map(|alt| ("alternative", &alt.trial)));
    for (label, trial) in rows {
        let rate = if seconds > 0.0 {
            trial.sets as f64 / seconds
        } else {
            0.0
        };
        let _ = write!(
            page,
            "<tr class=\"{label}\"><td>{label}</td><td><code>{}</code></td><td>{}</td><td>{rate:.2}</td>",
            escape(&setting(&trial.config)),
            trial.sets
        );
        for n in &trial.drops {
            let _ = write!(page, "<td>{n}</td>");
        }
        page.push_str("</tr>");
    }
    page.push_str("</table><ul class=\"why\">");
    for why in &a.why {
        let _ = write!(page, "<li>{}</li>", with_code(why));
    }
    for alt in &a.alternatives {
        let _ = write!(page, "<li>{}</li>", with_code(&alt.note));
    }
    page.push_str("</ul></section>\n");
}

fn histograms(page: &mut String, inspection: &Inspection) {
    let topics = inspection.recording.topics();
    page.push_str("<section id=\"histograms\"><h2>Histograms</h2><div class=\"hists\">");
    for o in &inspection.stats.offsets {
        page.push_str(&histogram::svg(
            &format!(
                "stamp of {} minus nearest stamp of {}",
                topics[o.channel], topics[o.reference]
            ),
            &o.nearest,
            "#4a7bd0",
        ));
    }
    for (c, topic) in topics.iter().enumerate() {
        let latencies: Vec<i64> = inspection
            .recording
            .on(c)
            .filter_map(|(_, m)| m.received.map(|r| r.saturating_sub(m.stamp)))
            .collect();
        if !latencies.is_empty() {
            page.push_str(&histogram::svg(
                &format!("latency of {topic} (receive time minus stamp)"),
                &latencies,
                "#3a9d6a",
            ));
        }
    }
    page.push_str(&histogram::svg(
        "spread of stamps in each set",
        &inspection.outcome.spreads(&inspection.recording),
        "#b07a2a",
    ));
    page.push_str("</div></section>\n");
}

/// The timeline's data: per topic, stamps in µs from the first stamp (delta-encoded) and fate
/// codes; sets as each member's index within its topic, flattened.
fn timeline_data(inspection: &Inspection) -> serde_json::Value {
    let recording = &inspection.recording;
    let messages = recording.messages();
    let channels = recording.topics().len();
    let t0 = messages.iter().map(|m| m.stamp).min().unwrap_or(0);
    // Each topic's messages sorted by stamp, and every message's index in that order.
    let mut order: Vec<Vec<usize>> = (0..channels)
        .map(|c| recording.on(c).map(|(i, _)| i).collect())
        .collect();
    let mut position = vec![0usize; messages.len()];
    let mut stamps = Vec::with_capacity(channels);
    let mut fates = Vec::with_capacity(channels);
    for ids in order.iter_mut() {
        ids.sort_by_key(|&i| (messages[i].stamp, i));
        let mut previous = 0i64;
        let mut deltas = Vec::with_capacity(ids.len());
        let mut codes = Vec::with_capacity(ids.len());
        for (k, &i) in ids.iter().enumerate() {
            position[i] = k;
            let us = messages[i].stamp.saturating_sub(t0) / 1000;
            deltas.push(us - previous);
            previous = us;
            codes.push(match inspection.outcome.fates[i] {
                Fate::InSet(_) => 0,
                Fate::Dropped(reason) => REASONS
                    .iter()
                    .position(|r| *r == reason)
                    .map_or(PENDING, |p| (p + 1) as u8),
                Fate::Pending => PENDING,
            });
        }
        stamps.push(deltas);
        fates.push(codes);
    }
    let sets: Vec<usize> = inspection
        .outcome
        .sets
        .iter()
        .flat_map(|set| set.iter().map(|&i| position[i]))
        .collect();
    json!({
        "topics": recording.topics(),
        "t0": t0.to_string(),
        "reasons": REASONS.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "stamps": stamps,
        "fates": fates,
        "sets": sets,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{inspect, Recording};
    use super::*;
    use crate::sync::PolicyConfig;

    #[test]
    fn text_from_the_log_is_escaped_and_nothing_is_fetched() {
        let topics = vec!["/a</script><b>".to_string(), "/b&\"'".to_string()];
        let mut rec = Recording::new(topics).expect("two topics");
        for i in 0..50i64 {
            rec.push(0, i * 10_000_000, Some(i * 10_000_000 + 1_000_000))
                .expect("a");
            rec.push(1, i * 10_000_000, Some(i * 10_000_000 + 2_000_000))
                .expect("b");
        }
        let inspection = inspect(rec, &PolicyConfig::approximate_time(10)).expect("inspects");
        let page = report(&inspection, "<log>");
        assert!(!page.contains("</script><b>"));
        assert!(page.contains("/a&lt;/script&gt;&lt;b&gt;"));
        assert!(page.contains("&lt;log&gt;"));
        assert_eq!(page.matches("<script").count(), 2, "data and code only");
        assert!(!page.contains("http://") || page.matches("http://").count() == 1);
        assert!(!page.contains("https://") && !page.contains("src="));
    }
}
