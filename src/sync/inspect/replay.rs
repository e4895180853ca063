//! Runs a policy over a recording and keeps where every message ended: in which set, or
//! dropped for which reason.

use std::collections::HashMap;

use crate::sync::{DropReason, Emitted, PolicyConfig};

use super::recording::{InspectError, Recording};

/// Where one message ended after the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// In the set of this index (its first one, for LatestTime which repeats messages).
    InSet(usize),
    /// Dropped for this reason.
    Dropped(DropReason),
    /// Still held by the policy at the end of the recording.
    Pending,
}

/// What a policy setting does on a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The setting replayed.
    pub config: PolicyConfig,
    /// Every set, as indices into [`Recording::messages`], one per topic in channel order.
    pub sets: Vec<Vec<usize>>,
    /// Each message's fate, indexed like [`Recording::messages`].
    pub fates: Vec<Fate>,
    /// Drops per (topic index, reason).
    pub drops: HashMap<(usize, DropReason), usize>,
    /// Times a stamp jumped back far enough to reset the policy.
    pub time_jumps: u64,
}

impl Outcome {
    /// Messages dropped on `channel`, every reason together.
    pub fn dropped_on(&self, channel: usize) -> usize {
        self.drops
            .iter()
            .filter(|((c, _), _)| *c == channel)
            .map(|(_, n)| n)
            .sum()
    }

    /// Messages dropped in total.
    pub fn dropped_total(&self) -> usize {
        self.drops.values().sum()
    }

    /// Messages dropped for `reason`, every topic together.
    pub fn dropped_for(&self, reason: DropReason) -> usize {
        self.drops
            .iter()
            .filter(|((_, r), _)| *r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// Drops as (topic index, reason, count), by topic then reason name.
    pub fn drops_sorted(&self) -> Vec<(usize, DropReason, usize)> {
        let mut rows: Vec<_> = self.drops.iter().map(|(&(c, r), &n)| (c, r, n)).collect();
        rows.sort_by_key(|&(c, r, _)| (c, r.as_str()));
        rows
    }

    /// Drops per reason, every topic together, the most frequent first.
    pub fn drops_by_reason(&self) -> Vec<(DropReason, usize)> {
        let mut totals: Vec<(DropReason, usize)> = Vec::new();
        for (&(_, reason), &n) in &self.drops {
            match totals.iter_mut().find(|(r, _)| *r == reason) {
                Some(total) => total.1 += n,
                None => totals.push((reason, n)),
            }
        }
        totals.sort_by_key(|&(r, n)| (std::cmp::Reverse(n), r.as_str()));
        totals
    }

    /// The spread (newest minus oldest stamp) of every set, ns.
    pub fn spreads(&self, recording: &Recording) -> Vec<i64> {
        let messages = recording.messages();
        self.sets
            .iter()
            .map(|set| {
                let (lo, hi) = set.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &i| {
                    (lo.min(messages[i].stamp), hi.max(messages[i].stamp))
                });
                hi.saturating_sub(lo)
            })
            .collect()
    }
}

/// Replays `recording` in arrival order through the policy `config` describes.
pub fn replay(recording: &Recording, config: &PolicyConfig) -> Result<Outcome, InspectError> {
    let mut policy = config.build::<usize>(recording.topics().len())?;
    let messages = recording.messages();
    let mut fates = vec![Fate::Pending; messages.len()];
    let mut sets = Vec::new();
    let mut drops = HashMap::new();
    let mut out = Emitted::new();
    for (id, m) in messages.iter().enumerate() {
        // LatestTime judges rates by arrival: the receive time where it is known.
        match m.received {
            Some(received) => policy.add_at(m.channel, m.stamp, received, id, &mut out),
            None => policy.add(m.channel, m.stamp, id, &mut out),
        }
        for set in out.sets.drain(..) {
            for &member in &set {
                if fates[member] == Fate::Pending {
                    fates[member] = Fate::InSet(sets.len());
                }
            }
            sets.push(set);
        }
        for d in out.drops.drain(..) {
            fates[d.msg] = Fate::Dropped(d.reason);
            *drops.entry((d.channel, d.reason)).or_insert(0) += 1;
        }
    }
    Ok(Outcome {
        config: *config,
        sets,
        fates,
        drops,
        time_jumps: policy.time_jumps(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_ends_in_a_set_a_drop_or_pending() {
        let mut rec = Recording::new(vec!["/a".into(), "/b".into()]).expect("two topics");
        for i in 0..20i64 {
            rec.push(0, i * 100, Some(i * 100 + 5)).expect("a");
            if i % 4 != 3 {
                rec.push(1, i * 100 + 3, Some(i * 100 + 6)).expect("b");
            }
        }
        let outcome = replay(&rec, &PolicyConfig::approximate_time(2)).expect("replays");
        assert_eq!(outcome.fates.len(), rec.messages().len());
        let in_sets = outcome
            .fates
            .iter()
            .filter(|f| matches!(f, Fate::InSet(_)))
            .count();
        let pending = outcome
            .fates
            .iter()
            .filter(|f| **f == Fate::Pending)
            .count();
        assert_eq!(in_sets, outcome.sets.len() * 2);
        assert_eq!(
            in_sets + pending + outcome.dropped_total(),
            rec.messages().len()
        );
        assert!(outcome.sets.len() >= 14, "{}", outcome.sets.len());
        assert!(outcome.spreads(&rec).iter().all(|&s| s == 3));
    }
}
