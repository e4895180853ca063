//! `rosync play`: replays a log onto the network with the recorded timing, with keyboard
//! control in a terminal (space pause/resume, right arrow next message, up/down rate).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::args::{Factor, Hz, Seconds};
use super::{fail, CliResult, NetworkArgs};
use crate::bag::{Log, PlayOptions, Player, PlayerControl, TopicSelection};

/// Arguments of `rosync play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The log: an MCAP file or a rosbag2 folder.
    file: PathBuf,
    /// Speed factor (2: twice as fast); 0 publishes as fast as possible.
    #[arg(
        long,
        default_value = "1",
        value_name = "X",
        allow_hyphen_values = true
    )]
    rate: Factor,
    /// Play again from the start after the end, until Ctrl-C.
    #[arg(long = "loop")]
    loop_playback: bool,
    /// Skip the first S seconds of the log.
    #[arg(
        long,
        default_value = "0",
        value_name = "S",
        allow_hyphen_values = true
    )]
    start_offset: Seconds,
    /// Play only S seconds of log time (from the start offset).
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    duration: Option<Seconds>,
    /// Play only these topics (with --regex, a topic selected by either is played).
    #[arg(long, num_args = 1.., value_name = "TOPIC")]
    topics: Vec<String>,
    /// Play the topics whose name matches (regex subset: . [] \d \w \s * + ? ^ $ |).
    #[arg(long, value_name = "REGEX")]
    regex: Option<String>,
    /// Never play the topics whose name matches (same syntax as --regex).
    #[arg(long, value_name = "REGEX")]
    exclude: Option<String>,
    /// Publish topic OLD as NEW (repeatable), e.g. --remap /camera/image:=/cam0/image.
    #[arg(long, value_name = "OLD:=NEW")]
    remap: Vec<String>,
    /// Publish rosgraph_msgs/msg/Clock on /clock with the playback time at HZ (100 if no value).
    #[arg(
        long,
        value_name = "HZ",
        num_args = 0..=1,
        default_missing_value = "100",
        allow_negative_numbers = true
    )]
    clock: Option<Hz>,
    /// Start paused (space resumes, right arrow publishes the next message).
    #[arg(long)]
    start_paused: bool,
    /// Before playing, wait up to this many seconds for every topic to have a subscriber.
    #[arg(
        long,
        default_value = "1",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    wait_for_subscribers: Seconds,
}

impl PlayArgs {
    fn options(&self) -> Result<PlayOptions, Box<dyn std::error::Error + Send + Sync>> {
        let remaps = self
            .remap
            .iter()
            .map(|r| match r.split_once(":=") {
                Some((from, to)) if !from.is_empty() && !to.is_empty() => {
                    Ok((from.to_string(), to.to_string()))
                }
                _ => fail(format!("--remap {r:?} is not of the form OLD:=NEW")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PlayOptions {
            rate: self.rate.get(),
            loop_playback: self.loop_playback,
            start_offset: self.start_offset.duration(),
            duration: self.duration.map(Seconds::duration),
            // No topic and no pattern: play every topic (but the excluded ones).
            selection: TopicSelection::from_options(
                self.topics.clone(),
                self.topics.is_empty() && self.regex.is_none(),
                self.regex.as_deref(),
                self.exclude.as_deref(),
            )?,
            remaps,
            clock_hz: self.clock.map(Hz::get),
            start_paused: self.start_paused,
            wait_for_subscribers: self.wait_for_subscribers.duration(),
        })
    }
}

/// Runs `rosync play`.
pub async fn run(args: PlayArgs, net: &NetworkArgs) -> CliResult {
    let options = args.options()?;
    let log = Log::open(&args.file)?;
    let node = net.node("rosync_play").await?;
    let player = Player::new(&node, log, options).await?;
    if player.topics().is_empty() {
        let skipped: Vec<&str> = player.skipped().iter().map(|s| s.topic.as_str()).collect();
        return fail(format!(
            "{}: no topic to play{}",
            args.file.display(),
            if skipped.is_empty() {
                " (none matches the selection)".to_string()
            } else {
                format!(
                    " ({} cannot be played, see the warnings)",
                    skipped.join(", ")
                )
            }
        ));
    }
    let control = player.control();
    let terminal = if std::io::stdin().is_terminal() {
        RawTerminal::enable()
    } else {
        None
    };
    eprintln!(
        "playing {} topics of {} at rate {}{}",
        player.topics().len(),
        args.file.display(),
        args.rate,
        if terminal.is_some() {
            " (space: pause/resume, right arrow: next message, up/down: rate, q: quit)"
        } else {
            ""
        }
    );
    let done = Arc::new(AtomicBool::new(false));
    let keys = terminal.as_ref().map(|_| {
        let control = control.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || keyboard(&control, &done))
    });
    let ctrl_c = {
        let control = control.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                control.stop();
            }
        })
    };
    let result = player.run().await;
    ctrl_c.abort();
    done.store(true, Ordering::SeqCst);
    if let Some(keys) = keys {
        let _ = keys.join();
    }
    drop(terminal);
    let report = result?;
    eprintln!("{report}");
    // Give the last samples time to leave before the session closes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let skipped = super::damage::lost(&args.file, &[], &report.skipped);
    let mut lost: Vec<String> = skipped.into_iter().collect();
    lost.extend(report.damage.iter().map(|d| format!("damaged log: {d}")));
    if lost.is_empty() {
        return Ok(());
    }
    Err(Box::new(super::damage::Damaged(format!(
        "{}; every readable message was played",
        lost.join("; ")
    ))))
}

/// Puts the terminal in non-canonical, no-echo mode, and restores it when dropped (also on
/// errors and panics; Ctrl-C stops playback through a signal handler, so this runs too).
struct RawTerminal {
    saved: libc::termios,
}

impl RawTerminal {
    fn enable() -> Option<Self> {
        // SAFETY: termios is plain data; tcgetattr fills it for fd 0 or fails.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a termios.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut termios) } != 0 {
            return None;
        }
        let saved = termios;
        termios.c_lflag &= !(libc::ICANON | libc::ECHO);
        termios.c_cc[libc::VMIN] = 1;
        termios.c_cc[libc::VTIME] = 0;
        // SAFETY: a valid termios read from the same terminal.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &termios) } != 0 {
            return None;
        }
        Some(Self { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enable`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// A key press the player reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Toggle,
    Step,
    Faster,
    Slower,
    Quit,
}

/// Takes the keys at the front of `input` (leaving an incomplete escape sequence there).
fn parse_keys(input: &mut Vec<u8>) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b' ' => keys.push(Key::Toggle),
            b'q' | b'Q' => keys.push(Key::Quit),
            0x1b => {
                if input.len() < i + 3 {
                    break;
                }
                if input[i + 1] == b'[' || input[i + 1] == b'O' {
                    match input[i + 2] {
                        b'A' => keys.push(Key::Faster),
                        b'B' => keys.push(Key::Slower),
                        b'C' => keys.push(Key::Step),
                        _ => {}
                    }
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    input.drain(..i);
    keys
}

/// Reads keys from the terminal until `done`.
fn keyboard(control: &PlayerControl, done: &AtomicBool) {
    let mut pending = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let mut poll = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut poll, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 64];
        // SAFETY: reads at most buf.len() bytes into buf.
        let got = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
        if got <= 0 {
            return;
        }
        pending.extend_from_slice(&buf[..got as usize]);
        for key in parse_keys(&mut pending) {
            match key {
                Key::Toggle => {
                    let paused = control.toggle();
                    let state = if paused { "paused" } else { "playing" };
                    eprintln!("[{state}] rate {:.3}", control.rate());
                }
                Key::Step => {
                    if control.is_paused() {
                        control.step();
                        eprintln!("[step]");
                    }
                }
                Key::Faster | Key::Slower => {
                    let rate = if key == Key::Faster {
                        control.rate() * 1.1
                    } else {
                        control.rate() / 1.1
                    };
                    control.set_rate(rate);
                    eprintln!("[rate] {rate:.3}");
                }
                Key::Quit => {
                    control.stop();
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_parsed_across_reads() {
        let mut input = b" \x1b[C\x1b[A\x1b".to_vec();
        assert_eq!(
            parse_keys(&mut input),
            vec![Key::Toggle, Key::Step, Key::Faster]
        );
        assert_eq!(input, b"\x1b");
        input.extend_from_slice(b"[Bxq");
        assert_eq!(parse_keys(&mut input), vec![Key::Slower, Key::Quit]);
        assert!(input.is_empty());
    }
}
