//! `dwell`: find an intruder in the logs. This binary turns the command line into options,
//! runs one command, and owns exit codes; the work is done by the library crates, through
//! the one pipeline they share. See the README for the commands and their contract.

mod cli;
mod commands;
mod messages;
mod options;
mod output;

use clap::Parser;
use cli::{Cli, Command, RulesCommand};
use std::process::ExitCode;

// Detections are built on worker threads and freed on the writing thread; glibc's allocator
// serialises such cross-thread frees on a lock, mimalloc does not.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How a command ended, when it could run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Completed, nothing skipped: exit 0.
    Complete,
    /// Completed, but some inputs, records or rules were skipped, each reported: exit 1.
    Partial,
}

impl Outcome {
    /// `Partial` when anything was skipped.
    pub fn of(partial: bool) -> Outcome {
        if partial {
            Outcome::Partial
        } else {
            Outcome::Complete
        }
    }
}

/// Why a command could not run (bad arguments, no usable rule, nothing to read, an output
/// that cannot be written): exit 2.
#[derive(Debug)]
pub struct Fail(pub String);

impl<T: std::fmt::Display> From<T> for Fail {
    fn from(e: T) -> Self {
        Fail(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(args) => commands::hunt::run(args),
        Command::Investigate(args) => commands::investigate::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Scope(args) => commands::scope::run(args),
        Command::Tune(args) => commands::tune::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Watch(args) => commands::watch::run(args),
        Command::Rules { command } => match command {
            RulesCommand::Check(args) => commands::rules::check(args),
            RulesCommand::List(args) => commands::rules::list(args),
            RulesCommand::Export(args) => commands::rules::export(args),
            RulesCommand::Update(args) => commands::update::run(args),
        },
    };
    ExitCode::from(match result {
        Ok(Outcome::Complete) => 0,
        Ok(Outcome::Partial) => 1,
        Err(Fail(msg)) => {
            messages::error(&msg);
            2
        }
    })
}
