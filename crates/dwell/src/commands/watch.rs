//! `dwell watch`: the command line turned into a watcher's configuration and a rule loader
//! (run again on SIGHUP); the watching is `dwell_watch`'s. Exit codes: 0 when stopped by
//! SIGTERM or SIGINT after draining (or when every source has ended), 1 when a sink or the
//! state directory failed while running, 2 when it could not start.

use super::scan;
use crate::cli::{ColorChoice, InputArgs, WatchArgs};
use crate::messages::Messages;
use crate::options::{Scan, load_options, statuses};
use crate::{Fail, Outcome};
use dwell_sigma::Level;
use std::time::Duration;

pub fn run(a: WatchArgs) -> Result<Outcome, Fail> {
    let input = InputArgs {
        timezone: a.timezone.clone(),
        read_as: a.read_as.clone(),
        squid_logformat: None,
        threads: Some(1),
        color: ColorChoice::Auto,
        no_progress: true,
    };
    let mut o = Scan::reading(Vec::new(), &input, Vec::new())?;
    o.rules = a.rules.clone();
    o.with_builtin = a.with_builtin || a.rules.is_empty();
    o.tuning = a.tuning.clone();
    o.load = load_options(&a.rule_options)?;
    o.selection.statuses = statuses(&a.status)?;
    o.selection.min_level = match &a.min_level {
        None => None,
        Some(l) => Some(Level::parse(l).ok_or_else(|| {
            Fail(format!(
                "--min-level '{l}' is not one of informational, low, medium, high, critical"
            ))
        })?),
    };
    let sources = a
        .sources
        .iter()
        .map(|s| dwell_watch::parse_source(s))
        .collect::<Result<Vec<_>, _>>()?;
    let sinks = a
        .sinks
        .iter()
        .map(|s| dwell_watch::parse_sink(s))
        .collect::<Result<Vec<_>, _>>()?;
    let token = match &a.token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| Fail(format!("--token-file {}: {e}", f.display())))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("DWELL_WATCH_TOKEN").ok(),
    }
    .filter(|t| !t.is_empty());
    if token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(Fail(
            "the bearer token must be at least 16 characters".into(),
        ));
    }
    // Names that go into NATS subjects and keys: one token each, no wildcards.
    let is_token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !is_token(&a.stream) {
        return Err(Fail(format!(
            "--stream '{}': letters, digits, '_' and '-' only",
            a.stream
        )));
    }
    if !a.subject_prefix.split('.').all(is_token) {
        return Err(Fail(format!(
            "--subject-prefix '{}': dot-separated tokens of letters, digits, '_' and '-'",
            a.subject_prefix
        )));
    }
    if let Some(w) = &a.worker
        && !is_token(w)
    {
        return Err(Fail(format!(
            "--worker '{w}': letters, digits, '_' and '-' only"
        )));
    }
    let registry = o.registry.clone();
    let msgs = Messages::new(crate::options::color_err(ColorChoice::Auto), false, 0);
    let (detector, not_loaded) = scan::rules(&o, &msgs, &registry)?;
    eprintln!(
        "dwell watch: {} rules ({} not loaded); state in {}",
        detector.table.len(),
        not_loaded.len(),
        a.state.display()
    );
    let reload_scan = o;
    let reloader: dwell_watch::engine::Reload = std::sync::Arc::new(move || {
        let quiet = Messages::new(false, false, 0);
        let (d, errors) =
            scan::rules(&reload_scan, &quiet, &reload_scan.registry).map_err(|e| e.0)?;
        if !errors.is_empty() {
            return Err(format!(
                "{} rule file(s) do not load, first: {}",
                errors.len(),
                errors[0]
            ));
        }
        Ok(d)
    });
    let config = dwell_watch::Config {
        state: a.state,
        sources,
        sinks,
        listen: a.listen,
        token,
        max_body: (a.max_body_kib << 10) as usize,
        registry,
        commit_every: Duration::from_millis(a.commit_ms),
        poll: Duration::from_millis(a.poll_ms),
        rotate_bytes: a.rotate_mib << 20,
        webhook_tries: a.webhook_tries,
        webhook_backoff: Duration::from_millis(200),
        forward: match &a.forward {
            Some(u) if u.starts_with("nats://") => Some((u.clone(), a.partition_key.clone())),
            Some(u) => return Err(Fail(format!("--forward '{u}': nats://HOST:PORT"))),
            None => None,
        },
        nats: dwell_watch::NatsSettings {
            stream: a.stream,
            prefix: a.subject_prefix,
            partitions: a.partitions,
            lease: Duration::from_millis(a.lease_ms),
            worker: a.worker.unwrap_or_else(|| {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| "dwell".into());
                let host: String = host
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{host}-{}", std::process::id())
            }),
            duplicate_window: Duration::from_secs(a.duplicate_window_min * 60),
            lateness: Duration::from_millis(a.lateness_ms),
        },
    };
    match dwell_watch::run(config, detector, reloader) {
        Ok(l) => {
            eprintln!(
                "dwell watch: stopped; ledger: {} records in, {} matched, {} not matched, {} rejected, {} dropped, {} forwarded{}",
                l.records,
                l.matched,
                l.unmatched,
                l.rejected,
                l.dropped,
                l.forwarded,
                if l.balances() {
                    ""
                } else {
                    " (does NOT balance)"
                }
            );
            Ok(Outcome::Complete)
        }
        Err(dwell_watch::WatchError::Setup(e)) => Err(Fail(e)),
        Err(dwell_watch::WatchError::Run(e)) => {
            eprintln!("dwell watch: {e}");
            Ok(Outcome::Partial)
        }
    }
}
