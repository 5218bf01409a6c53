//! Everything dwell says on standard error, in one place: warnings, notes, errors, the
//! progress bar, and the problems a run finds as they are found. Every message passes through
//! [`dwell_core::text::terminal`], since file names, log values and rule text are written by
//! others and could otherwise act on the terminal.

use dwell_core::Problem;
use dwell_core::text::terminal;
use dwell_ingest::{InputInfo, ReadError};
use dwell_pipeline::Monitor;
use std::io::{self, IsTerminal, Write};

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
    bar: Option<indicatif::ProgressBar>,
}

impl Messages {
    /// `color` for the labels; `progress` shows a progress bar of `total` bytes (only on a
    /// terminal).
    pub fn new(color: bool, progress: bool, total: u64) -> Messages {
        let bar = (progress && io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new(total);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:32}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            pb
        });
        Messages { color, bar }
    }

    fn line(&self, label: &str, code: &str, msg: &str) {
        let text = if self.color {
            format!("\x1b[{code}m{label}\x1b[0m: {}", terminal(msg))
        } else {
            format!("{label}: {}", terminal(msg))
        };
        let print = || {
            let _ = writeln!(io::stderr().lock(), "{text}");
        };
        match &self.bar {
            Some(b) => b.suspend(print),
            None => print(),
        }
    }

    /// Something was skipped or is wrong, and the run goes on.
    pub fn warn(&self, msg: &str) {
        self.line("warning", "33", msg);
    }

    /// Something the user should know.
    pub fn note(&self, msg: &str) {
        self.line("note", "36", msg);
    }

    /// Removes the progress bar.
    pub fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Monitor for Messages {
    fn problem(&self, input: &InputInfo, problem: &Problem, nth: u64) {
        if nth <= SHOWN_PER_INPUT {
            self.warn(&format!("{}: {problem}", input.display));
        }
    }

    fn failed(&self, input: &InputInfo, error: &ReadError) {
        self.warn(&format!("skipped {}: {error}", input.display));
    }

    fn progress(&self, bytes: u64, events: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes.min(b.length().unwrap_or(u64::MAX)));
            b.set_message(format!("{} events", dwell_report::group(events)));
        }
    }
}
