//! Everything dwell says on standard error, in one place: warnings, notes, errors, the
//! progress bar, and the problems a run finds as they are found. Every message passes through
//! [`dwell_core::text::terminal`], since file names, log values and rule text are written by
//! others and could otherwise act on the terminal. Warnings are folded by kind, so that a
//! corpus of a thousand damaged files says so in a few lines; `--log FILE` keeps every one,
//! and `--quiet` shows none until the closing count.

use dwell_core::Problem;
use dwell_core::text::terminal;
use dwell_ingest::{InputInfo, ReadError};
use dwell_pipeline::Monitor;
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

/// Warnings of one kind shown before the rest are only counted.
pub const SHOWN_PER_KIND: u64 = 3;

/// Warnings shown in all before the rest are only counted.
pub const SHOWN_IN_ALL: u64 = 30;

/// What a message is, for folding: its text with the place (file, line, numbers) left out.
fn kind(reason: &str) -> String {
    let mut k = String::with_capacity(reason.len());
    let mut last_digit = false;
    for c in reason.chars().take(120) {
        if c.is_ascii_digit() {
            if !last_digit {
                k.push('#');
            }
            last_digit = true;
        } else {
            k.push(c);
            last_digit = false;
        }
    }
    k
}

/// Counts of the warnings not shown, by kind, and where every message goes in full.
#[derive(Default)]
struct Fold {
    shown: u64,
    by_kind: BTreeMap<String, (u64, u64)>,
    log: Option<io::BufWriter<std::fs::File>>,
}

/// Problems printed per input before the rest are only counted.
pub const SHOWN_PER_INPUT: u64 = 10;

/// Prints an error (the run could not go on).
pub fn error(msg: &str) {
    let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let label = if color {
        "\x1b[31merror\x1b[0m"
    } else {
        "error"
    };
    let _ = writeln!(io::stderr().lock(), "{label}: {}", terminal(msg));
}

/// Warnings, notes and progress for one command.
pub struct Messages {
    color: bool,
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
    fold: Mutex<Fold>,
}

impl Messages {
    /// `color` for the labels; `progress` shows a progress bar of `total` bytes (only on a
    /// terminal).
    pub fn new(color: bool, progress: bool, total: u64) -> Messages {
        let bar = (progress && io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new(total);
            pb.set_style(
                // The bar takes what the line leaves, so the line never wraps: a wrapped
                // line is redrawn one row down each time, leaving stale bars behind.
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            pb
        });
        Messages {
            color,
            quiet: false,
            bar,
            fold: Mutex::new(Fold::default()),
        }
    }

    /// Shows no warning or note until the closing count (`--quiet`), and no progress bar.
    pub fn quiet(mut self, on: bool) -> Messages {
        self.quiet = on;
        if on {
            self.bar = None;
        }
        self
    }

    /// Writes every message, in full, to `path` (`--log`).
    pub fn log(self, path: Option<&std::path::Path>) -> Result<Messages, String> {
        if let Some(p) = path {
            let f = std::fs::File::create(p)
                .map_err(|e| format!("cannot write --log {}: {e}", p.display()))?;
            self.fold.lock().unwrap_or_else(|e| e.into_inner()).log = Some(io::BufWriter::new(f));
        }
        Ok(self)
    }

    fn print(&self, text: &str) {
        let print = || {
            let _ = writeln!(io::stderr().lock(), "{text}");
        };
        match &self.bar {
            Some(b) => b.suspend(print),
            None => print(),
        }
    }

    fn line(&self, label: &str, code: &str, msg: &str, kind_of: &str) {
        let mut fold = self.fold.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = fold.log.as_mut() {
            let _ = writeln!(log, "{label}: {}", terminal(msg));
        }
        let k = kind(kind_of);
        let (seen, _) = *fold.by_kind.entry(k.clone()).or_default();
        let show = !self.quiet && seen < SHOWN_PER_KIND && fold.shown < SHOWN_IN_ALL;
        let e = fold.by_kind.get_mut(&k).expect("just made");
        e.0 += 1;
        if show {
            fold.shown += 1;
        } else {
            e.1 += 1;
            return;
        }
        drop(fold);
        let text = if self.color {
            format!("\x1b[{code}m{label}\x1b[0m: {}", terminal(msg))
        } else {
            format!("{label}: {}", terminal(msg))
        };
        self.print(&text);
    }

    /// Something was skipped or is wrong, and the run goes on.
    pub fn warn(&self, msg: &str) {
        self.line("warning", "33", msg, msg);
    }

    /// A warning whose kind (for folding) is `kind`, not the whole message.
    pub fn warn_as(&self, kind: &str, msg: &str) {
        self.line("warning", "33", msg, kind);
    }

    /// Something the user should know.
    pub fn note(&self, msg: &str) {
        self.line("note", "36", msg, msg);
    }

    /// Removes the progress bar.
    pub fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// Says how many messages were not shown, by kind, and flushes the log.
    pub fn finish(&self) {
        self.done();
        let mut fold = self.fold.lock().unwrap_or_else(|e| e.into_inner());
        let logged = fold.log.is_some();
        if let Some(log) = fold.log.as_mut() {
            let _ = log.flush();
        }
        let mut hidden: Vec<(u64, String)> = fold
            .by_kind
            .iter_mut()
            .filter(|(_, (_, h))| *h > 0)
            .map(|(k, (_, h))| (std::mem::take(h), k.clone()))
            .collect();
        if hidden.is_empty() {
            return;
        }
        hidden.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let total: u64 = hidden.iter().map(|h| h.0).sum();
        drop(fold);
        let kinds: Vec<String> = hidden
            .iter()
            .take(5)
            .map(|(n, k)| format!("{n} × {k}"))
            .collect();
        let msg = format!(
            "{total} more message(s) not shown ({}{}); {}",
            kinds.join("; "),
            if hidden.len() > 5 { "; ..." } else { "" },
            if logged {
                "--log has them all"
            } else {
                "--log FILE writes them all"
            }
        );
        let text = if self.color {
            format!("\x1b[33mwarning\x1b[0m: {}", terminal(&msg))
        } else {
            format!("warning: {}", terminal(&msg))
        };
        self.print(&text);
    }
}

impl Monitor for Messages {
    fn problem(&self, input: &InputInfo, problem: &Problem, nth: u64) {
        if nth <= SHOWN_PER_INPUT {
            self.warn_as(&problem.reason, &format!("{}: {problem}", input.display));
        }
    }

    fn failed(&self, input: &InputInfo, error: &ReadError) {
        self.warn_as(
            &format!("skipped: {error}"),
            &format!("skipped {}: {error}", input.display),
        );
    }

    fn progress(&self, bytes: u64, events: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes.min(b.length().unwrap_or(u64::MAX)));
            b.set_message(format!("{} events", dwell_report::group(events)));
        }
    }
}
