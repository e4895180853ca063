//! What `rosync tf frames` prints and writes: the frame tree as text, Graphviz DOT and SVG.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::time::Time;

/// One frame and the transform to its parent, as `view_frames` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRow {
    /// The child frame.
    pub frame: String,
    /// Its parent frame.
    pub parent: String,
    /// Who publishes the transform (a node name, or what is known of the publisher).
    pub broadcaster: String,
    /// True for a transform from `/tf_static`.
    pub is_static: bool,
    /// Average rate of the stored transforms, in Hz (0 for a static transform).
    pub rate_hz: f64,
    /// The newest stored stamp.
    pub most_recent: Time,
    /// Seconds between the oldest and the newest stored stamps.
    pub buffer_length: f64,
}

/// The tree: each parent's children (rows sorted by frame), and the roots (frames that are
/// nobody's child), sorted.
struct Tree<'a> {
    children: BTreeMap<&'a str, Vec<&'a FrameRow>>,
    roots: Vec<&'a str>,
}

impl<'a> Tree<'a> {
    fn new(rows: &'a [FrameRow]) -> Self {
        let mut children: BTreeMap<&str, Vec<&FrameRow>> = BTreeMap::new();
        for row in rows {
            children.entry(&row.parent).or_default().push(row);
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| a.frame.cmp(&b.frame));
        }
        let childs: BTreeSet<&str> = rows.iter().map(|r| r.frame.as_str()).collect();
        let mut roots: Vec<&str> = children
            .keys()
            .copied()
            .filter(|p| !childs.contains(p))
            .collect();
        // A loop of frames has no root: show it from its smallest frame, once.
        let reachable = {
            let mut seen = BTreeSet::new();
            let mut stack = roots.clone();
            while let Some(f) = stack.pop() {
                if seen.insert(f) {
                    stack.extend(
                        children
                            .get(f)
                            .into_iter()
                            .flatten()
                            .map(|r| r.frame.as_str()),
                    );
                }
            }
            seen
        };
        roots.extend(
            childs
                .iter()
                .copied()
                .filter(|f| !reachable.contains(f))
                .take(1),
        );
        Self { children, roots }
    }
}

/// The transform's description after its frame: broadcaster, rate, newest stamp, buffer.
fn describe(row: &FrameRow, now: Time) -> String {
    if row.is_static {
        return format!("broadcaster {}, static", row.broadcaster);
    }
    let age = (now.as_nanos() - row.most_recent.as_nanos()) as f64 / 1e9;
    format!(
        "broadcaster {}, {:.2} Hz, most recent {}.{:09} ({age:.3} s ago), buffer {:.3} s",
        row.broadcaster,
        row.rate_hz,
        row.most_recent.sec,
        row.most_recent.nanosec,
        row.buffer_length
    )
}

/// The tree as indented text, one frame a line, each root first.
pub fn text_tree(rows: &[FrameRow], now: Time) -> String {
    let tree = Tree::new(rows);
    let mut out = String::new();
    let mut seen = BTreeSet::new();
    for root in &tree.roots {
        let _ = writeln!(out, "{root}");
        walk(&tree, root, "", now, &mut seen, &mut out);
    }
    out
}

fn walk<'a>(
    tree: &Tree<'a>,
    frame: &'a str,
    indent: &str,
    now: Time,
    seen: &mut BTreeSet<&'a str>,
    out: &mut String,
) {
    if !seen.insert(frame) {
        return;
    }
    let Some(children) = tree.children.get(frame) else {
        return;
    };
    for (i, row) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (branch, more) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let _ = writeln!(out, "{indent}{branch}{}: {}", row.frame, describe(row, now));
        walk(tree, &row.frame, &format!("{indent}{more}"), now, seen, out);
    }
}

/// A string as a DOT or XML-safe quoted label body.
fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The label of an edge: what `view_frames` writes on it.
fn edge_lines(row: &FrameRow) -> Vec<String> {
    let mut lines = vec![format!("Broadcaster: {}", row.broadcaster)];
    if row.is_static {
        lines.push("Static".into());
    } else {
        lines.push(format!("Average rate: {:.2} Hz", row.rate_hz));
        lines.push(format!(
            "Most recent transform: {}.{:09}",
            row.most_recent.sec, row.most_recent.nanosec
        ));
        lines.push(format!("Buffer length: {:.3} s", row.buffer_length));
    }
    lines
}

/// The tree as a Graphviz digraph, parent -> child, each edge labelled like `view_frames`'.
pub fn dot(rows: &[FrameRow], now: Time) -> String {
    let mut sorted: Vec<&FrameRow> = rows.iter().collect();
    sorted.sort_by(|a, b| (&a.parent, &a.frame).cmp(&(&b.parent, &b.frame)));
    let mut out = String::from("digraph frames {\n  node [shape=box];\n");
    for row in sorted {
        let label: Vec<String> = edge_lines(row).iter().map(|l| dot_escape(l)).collect();
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\\l\"];",
            dot_escape(&row.parent),
            dot_escape(&row.frame),
            label.join("\\l")
        );
    }
    let _ = writeln!(
        out,
        "  label=\"rosync tf frames at {}.{:09}\";\n}}",
        now.sec, now.nanosec
    );
    out
}

/// Escapes text for SVG.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BOX_W: f64 = 150.0;
const BOX_H: f64 = 30.0;
const COL_W: f64 = 230.0;
const ROW_H: f64 = 130.0;

/// The tree drawn as SVG (no Graphviz needed): roots at the top, each frame centred over its
/// children, each edge labelled like `view_frames`'.
pub fn svg(rows: &[FrameRow], now: Time) -> String {
    let tree = Tree::new(rows);
    // Place leaves left to right; a parent sits over the middle of its children.
    let mut pos: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    let mut next_leaf = 0.0;
    for root in &tree.roots {
        place(&tree, root, 0, &mut next_leaf, &mut pos);
    }
    let width = (next_leaf * COL_W).max(COL_W) + 40.0;
    let depth = pos.values().map(|p| p.1).fold(0.0, f64::max);
    let height = depth + BOX_H + 80.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<text x=\"10\" y=\"{}\">rosync tf frames at {}.{:09}</text>",
        height - 10.0,
        now.sec,
        now.nanosec
    );
    for row in rows {
        let (Some(&(px, py)), Some(&(cx, cy))) =
            (pos.get(row.parent.as_str()), pos.get(row.frame.as_str()))
        else {
            continue;
        };
        let _ = writeln!(
            out,
            "<line x1=\"{px}\" y1=\"{}\" x2=\"{cx}\" y2=\"{cy}\" stroke=\"black\"/>",
            py + BOX_H
        );
        for (i, line) in edge_lines(row).iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>",
                (px + cx) / 2.0 + 6.0,
                py + BOX_H + 22.0 + 12.0 * i as f64,
                xml_escape(line)
            );
        }
    }
    for (frame, (x, y)) in &pos {
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" fill=\"white\" \
             stroke=\"black\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x - BOX_W / 2.0,
            y + 20.0,
            xml_escape(frame)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Places `frame` and its subtree; returns the frame's x.
fn place<'a>(
    tree: &Tree<'a>,
    frame: &'a str,
    depth: usize,
    next_leaf: &mut f64,
    pos: &mut BTreeMap<&'a str, (f64, f64)>,
) -> f64 {
    if let Some(&(x, _)) = pos.get(frame) {
        return x;
    }
    let y = 20.0 + depth as f64 * ROW_H;
    // Reserve the frame first so a loop of frames ends.
    pos.insert(frame, (0.0, y));
    let mut xs = Vec::new();
    for child in tree.children.get(frame).into_iter().flatten() {
        if !pos.contains_key(child.frame.as_str()) {
            xs.push(place(tree, &child.frame, depth + 1, next_leaf, pos));
        }
    }
    let x = if xs.is_empty() {
        let x = 20.0 + COL_W / 2.0 + *next_leaf * COL_W;
        *next_leaf += 1.0;
        x
    } else {
        (xs[0] + xs[xs.len() - 1]) / 2.0
    };
    pos.insert(frame, (x, y));
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(frame: &str, parent: &str, is_static: bool) -> FrameRow {
        FrameRow {
            frame: frame.into(),
            parent: parent.into(),
            broadcaster: "/robot".into(),
            is_static,
            rate_hz: if is_static { 0.0 } else { 50.0 },
            most_recent: Time {
                sec: 10,
                nanosec: 0,
            },
            buffer_length: 9.98,
        }
    }

    fn robot() -> Vec<FrameRow> {
        vec![
            row("camera_optical", "base_link", true),
            row("base_link", "odom", false),
            row("laser", "base_link", true),
            row("odom", "map", false),
            row("other", "world", true),
        ]
    }

    #[test]
    fn text_tree_nests_children_under_parents() {
        let text = text_tree(
            &robot(),
            Time {
                sec: 10,
                nanosec: 500_000_000,
            },
        );
        assert_eq!(
            text,
            "map\n\
             └── odom: broadcaster /robot, 50.00 Hz, most recent 10.000000000 (0.500 s ago), buffer 9.980 s\n    \
             └── base_link: broadcaster /robot, 50.00 Hz, most recent 10.000000000 (0.500 s ago), buffer 9.980 s\n        \
             ├── camera_optical: broadcaster /robot, static\n        \
             └── laser: broadcaster /robot, static\n\
             world\n\
             └── other: broadcaster /robot, static\n"
        );
    }

    #[test]
    fn a_loop_of_frames_is_printed_once() {
        let rows = vec![row("a", "b", false), row("b", "a", false)];
        let text = text_tree(&rows, Time::default());
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(svg(&rows, Time::default()).ends_with("</svg>\n"));
    }

    #[test]
    fn dot_and_svg_hold_every_edge() {
        let rows = robot();
        let dot = dot(&rows, Time::default());
        assert!(dot.starts_with("digraph frames {"));
        assert!(dot.contains(
            "\"odom\" -> \"base_link\" [label=\"Broadcaster: /robot\\lAverage rate: 50.00 Hz"
        ));
        assert_eq!(dot.matches("->").count(), rows.len());
        let svg = svg(&rows, Time::default());
        assert_eq!(svg.matches("<line ").count(), rows.len());
        assert_eq!(svg.matches("<rect ").count(), 7);
        assert!(svg.contains(">camera_optical</text>"));
    }
}
