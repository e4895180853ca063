//! Topic name patterns for `--regex` and `--exclude`, as rosbag2 matches them (a search
//! anywhere in the name).
//!
//! The `regex` crate is not a dependency, so [`TopicPattern`] is a small backtracking matcher
//! for the subset topic filters use: literals, `.`, `[...]`/`[^...]` classes with ranges,
//! `\d \w \s` and escaped punctuation, groups `(...)`, alternation `|`, anchors `^ $`, and
//! the quantifiers `* + ? {n} {n,} {n,m}`. Anything else is an error naming the pattern.

/// A pattern that could not be parsed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(String);

/// A topic name pattern: the common subset of regular expressions (see the module docs),
/// matched anywhere in the name.
#[derive(Debug, Clone)]
pub struct TopicPattern {
    source: String,
    alternatives: Vec<Vec<Piece>>,
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Group(Vec<Vec<Piece>>),
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: u32,
    max: Option<u32>,
}

impl TopicPattern {
    /// Parses `pattern`; an unsupported or malformed pattern is an error naming it.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let bad = |why: &str| PatternError(format!("bad topic pattern `{pattern}`: {why}"));
        let alternatives = parse_alternatives(&chars, &mut pos, 0).map_err(|w| bad(&w))?;
        if pos != chars.len() {
            return Err(bad("unmatched `)`"));
        }
        Ok(Self {
            source: pattern.to_string(),
            alternatives,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        (0..=chars.len()).any(|start| {
            self.alternatives
                .iter()
                .any(|seq| match_seq(seq, &chars, start, &mut |_| true))
        })
    }
}

fn parse_alternatives(
    chars: &[char],
    pos: &mut usize,
    depth: usize,
) -> Result<Vec<Vec<Piece>>, String> {
    let mut alternatives = vec![Vec::new()];
    while *pos < chars.len() {
        let c = chars[*pos];
        let atom = match c {
            ')' if depth > 0 => return Ok(alternatives),
            ')' => return Err("unmatched `)`".into()),
            '|' => {
                *pos += 1;
                alternatives.push(Vec::new());
                continue;
            }
            '(' => {
                *pos += 1;
                if chars.get(*pos) == Some(&'?') && chars.get(*pos + 1) == Some(&':') {
                    *pos += 2;
                }
                let inner = parse_alternatives(chars, pos, depth + 1)?;
                if chars.get(*pos) != Some(&')') {
                    return Err("unclosed `(`".into());
                }
                *pos += 1;
                Atom::Group(inner)
            }
            '[' => {
                *pos += 1;
                parse_class(chars, pos)?
            }
            '.' => {
                *pos += 1;
                Atom::Any
            }
            '^' => {
                *pos += 1;
                Atom::Start
            }
            '$' => {
                *pos += 1;
                Atom::End
            }
            '\\' => {
                let e = *chars.get(*pos + 1).ok_or("trailing `\\`")?;
                *pos += 2;
                escape(e)
            }
            '*' | '+' | '?' | '{' => return Err(format!("`{c}` follows nothing")),
            _ => {
                *pos += 1;
                Atom::Char(c)
            }
        };
        let (min, max) = parse_quantifier(chars, pos)?;
        alternatives
            .last_mut()
            .expect("at least one alternative")
            .push(Piece { atom, min, max });
    }
    Ok(alternatives)
}

fn escape(e: char) -> Atom {
    match e {
        'd' => Atom::Class(vec![('0', '9')], false),
        'w' => Atom::Class(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
        's' => Atom::Class(vec![(' ', ' '), ('\t', '\r')], false),
        other => Atom::Char(other),
    }
}

fn parse_class(chars: &[char], pos: &mut usize) -> Result<Atom, String> {
    let negated = chars.get(*pos) == Some(&'^');
    if negated {
        *pos += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(*pos).ok_or("unclosed `[`")?;
        if c == ']' && !first {
            *pos += 1;
            return Ok(Atom::Class(ranges, negated));
        }
        first = false;
        let lo = if c == '\\' {
            let e = *chars.get(*pos + 1).ok_or("unclosed `[`")?;
            *pos += 2;
            if let Atom::Class(r, _) = escape(e) {
                ranges.extend(r);
                continue;
            }
            e
        } else {
            *pos += 1;
            c
        };
        if chars.get(*pos) == Some(&'-') && chars.get(*pos + 1).is_some_and(|&n| n != ']') {
            let hi = chars[*pos + 1];
            *pos += 2;
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
}

fn parse_quantifier(chars: &[char], pos: &mut usize) -> Result<(u32, Option<u32>), String> {
    let q = match chars.get(*pos) {
        Some('*') => (0, None),
        Some('+') => (1, None),
        Some('?') => (0, Some(1)),
        Some('{') => {
            let close = chars[*pos..]
                .iter()
                .position(|&c| c == '}')
                .ok_or("unclosed `{`")?;
            let body: String = chars[*pos + 1..*pos + close].iter().collect();
            let bad = || format!("bad repetition `{{{body}}}`");
            let (min, max) = match body.split_once(',') {
                None => {
                    let n = body.parse().map_err(|_| bad())?;
                    (n, Some(n))
                }
                Some((lo, "")) => (lo.parse().map_err(|_| bad())?, None),
                Some((lo, hi)) => (
                    lo.parse().map_err(|_| bad())?,
                    Some(hi.parse().map_err(|_| bad())?),
                ),
            };
            *pos += close;
            (min, max)
        }
        _ => return Ok((1, Some(1))),
    };
    *pos += 1;
    // A lazy `?` changes which match is found, not whether one exists.
    if chars.get(*pos) == Some(&'?') {
        *pos += 1;
    }
    if matches!(chars.get(*pos), Some('*' | '+' | '{')) {
        return Err("repeated quantifier".into());
    }
    Ok(q)
}

fn match_seq(seq: &[Piece], text: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(pos),
        Some((piece, rest)) => match_piece(piece, 0, text, pos, &mut |p| {
            match_seq(rest, text, p, &mut *k)
        }),
    }
}

fn match_piece(
    piece: &Piece,
    count: u32,
    text: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if piece.max.is_none_or(|m| count < m) {
        let more = match_atom(&piece.atom, text, pos, &mut |p| {
            if p == pos {
                // An empty match: repeating it cannot change anything.
                count + 1 >= piece.min && k(p)
            } else {
                match_piece(piece, count + 1, text, p, &mut *k)
            }
        });
        if more {
            return true;
        }
    }
    count >= piece.min && k(pos)
}

fn match_atom(atom: &Atom, text: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match atom {
        Atom::Char(c) => text.get(pos) == Some(c) && k(pos + 1),
        Atom::Any => pos < text.len() && k(pos + 1),
        Atom::Class(ranges, negated) => {
            text.get(pos)
                .is_some_and(|&c| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && k(pos + 1)
        }
        Atom::Start => pos == 0 && k(pos),
        Atom::End => pos == text.len() && k(pos),
        Atom::Group(alternatives) => alternatives
            .iter()
            .any(|seq| match_seq(seq, text, pos, &mut *k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_regex_search() {
        let cases: &[(&str, &str, bool)] = &[
            ("camera", "/robot/camera/image", true),
            ("^/camera", "/robot/camera/image", false),
            ("^/robot/.*/image$", "/robot/camera/image", true),
            ("/(left|right)/image_raw$", "/cam/left/image_raw", true),
            ("/(left|right)/image_raw$", "/cam/center/image_raw", false),
            ("^/imu[0-9]+$", "/imu12", true),
            ("^/imu[0-9]+$", "/imu", false),
            ("^/imu\\d?$", "/imu", true),
            ("^/a{2,3}$", "/aaa", true),
            ("^/a{2,3}$", "/aaaa", false),
            ("^/[^/]+$", "/tf", true),
            ("^/[^/]+$", "/tf/x", false),
            ("rosout|parameter_events", "/parameter_events", true),
            ("^(/a*)*$", "/aa/a", true),
            ("^\\.x$", ".x", true),
            ("^\\.x$", "ax", false),
        ];
        for &(pattern, text, expected) in cases {
            let p = TopicPattern::new(pattern).expect("parses");
            assert_eq!(p.is_match(text), expected, "{pattern} on {text}");
        }
        for bad in ["(a", "a)", "[ab", "*a", "a{2", "a**"] {
            assert!(TopicPattern::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_of_the_player_tests() {
        let p = |s: &str| TopicPattern::new(s).expect("valid");
        assert!(p("camera").is_match("/robot/camera/image"));
        assert!(!p("^camera").is_match("/robot/camera/image"));
        assert!(p("^/robot/.*/image$").is_match("/robot/camera/image"));
        assert!(!p("^/robot/.*/image$").is_match("/robot/camera/image_raw"));
        assert!(p("image|info$").is_match("/cam/info"));
        assert!(p("/imu[0-9]+$").is_match("/imu12"));
        assert!(!p("/imu[0-9]+$").is_match("/imu"));
        assert!(p("/imu\\d?$").is_match("/imu"));
        assert!(p("[^a-z]").is_match("/abc"));
        assert!(!p("^[^/]").is_match("/abc"));
        assert!(p("a\\.b").is_match("a.b"));
        assert!(!p("a\\.b").is_match("axb"));
        assert!(p("").is_match("/anything"));
        for bad in ["*a", "[a-", "a\\"] {
            assert!(TopicPattern::new(bad).is_err(), "{bad}");
        }
    }
}
