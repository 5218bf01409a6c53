//! Raw flags turned into validated settings, in one place: every check of what the user
//! typed is here, and commands only ever see the result.

use crate::Fail;
use crate::cli::{CaseArgs, ColorChoice, IncidentFormat, OutFormat, RuleOptions, ScanArgs};
use dwell_detect::Selection;
use dwell_sigma::yaml::{self, Yaml};
use dwell_sigma::{Level, LoadOptions, Placeholders, Status};
use std::io::{self, IsTerminal};
use std::path::PathBuf;

/// Colour on standard error.
pub fn color_err(c: ColorChoice) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Colour in results written to `terminal` (standard output that is a terminal).
pub fn color_out(c: ColorChoice, terminal: bool) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The detection format: as asked, else a table on a terminal and JSON lines elsewhere.
pub fn detection_format(f: Option<OutFormat>, terminal: bool) -> dwell_report::Format {
    use dwell_report::Format;
    match f {
        Some(OutFormat::Table) => Format::Table,
        Some(OutFormat::Csv) => Format::Csv,
        Some(OutFormat::Jsonl) => Format::Jsonl,
        Some(OutFormat::Timesketch) => Format::Timesketch,
        Some(OutFormat::Ocsf) => Format::Ocsf,
        None if terminal => Format::Table,
        None => Format::Jsonl,
    }
}

/// The incident format: as asked, else a summary on a terminal and JSON elsewhere.
pub fn incident_format(f: Option<IncidentFormat>, terminal: bool) -> IncidentFormat {
    f.unwrap_or(if terminal {
        IncidentFormat::Table
    } else {
        IncidentFormat::Json
    })
}

/// Rule loading: placeholder values from `--placeholder` and `--placeholders`.
pub fn load_options(o: &RuleOptions) -> Result<LoadOptions, Fail> {
    let mut ph = Placeholders::default();
    if let Some(file) = &o.placeholders {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Fail(format!(
                "cannot read placeholders file {}: {e}",
                file.display()
            ))
        })?;
        let docs = yaml::load_all(&text, Default::default())
            .map_err(|e| Fail(format!("placeholders file {}: {e}", file.display())))?;
        let Some(Yaml::Map(entries)) = docs.first().map(|d| &d.value) else {
            return Err(Fail(format!(
                "placeholders file {} must map names to values",
                file.display()
            )));
        };
        for (k, v) in entries {
            let name = k.scalar_text().unwrap_or_default();
            let values: Vec<String> = match &v.value {
                Yaml::Seq(items) => items.iter().filter_map(|i| i.scalar_text()).collect(),
                _ => v.scalar_text().into_iter().collect(),
            };
            ph.values.entry(name).or_default().extend(values);
        }
    }
    for p in &o.placeholder {
        let (name, value) = p
            .split_once('=')
            .ok_or_else(|| Fail(format!("--placeholder '{p}' is not NAME=VALUE")))?;
        ph.values
            .entry(name.trim_matches('%').to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(LoadOptions {
        placeholders: ph,
        ..LoadOptions::default()
    })
}

/// The investigation outputs asked for.
pub struct CaseOptions {
    /// The case file.
    pub case: Option<PathBuf>,
    /// The HTML report.
    pub html: Option<PathBuf>,
    /// The incidents' timeline.
    pub timeline: Option<PathBuf>,
    /// Detections further apart than this (nanoseconds) are not linked.
    pub gap: i64,
    /// Hosts of logs whose events name none: (path, host).
    pub hosts: Vec<(String, String)>,
    /// The identity map's rows.
    pub identity_map: Vec<(String, String)>,
}

impl CaseOptions {
    /// The investigation's settings.
    pub fn investigation(&self) -> dwell_investigate::Options {
        dwell_investigate::Options {
            gap: self.gap,
            hosts: self.hosts.clone(),
            identity_map: self.identity_map.clone(),
        }
    }

    /// True when any investigation output was asked for.
    pub fn any(&self) -> bool {
        self.case.is_some() || self.html.is_some() || self.timeline.is_some()
    }
}

/// What `hunt` and `investigate` share, validated.
pub struct Scan {
    /// Inputs (`-` for standard input).
    pub paths: Vec<PathBuf>,
    /// Rule files and folders.
    pub rules: Vec<PathBuf>,
    /// How rules load.
    pub load: LoadOptions,
    /// Which rules run.
    pub selection: Selection,
    /// Threads and deduplication.
    pub pipeline: dwell_pipeline::Options,
    /// Memory for sorting detections, in bytes.
    pub sort_memory: usize,
    /// The coverage document.
    pub coverage: Option<PathBuf>,
    /// The ATT&CK Navigator layer.
    pub navigator: Option<PathBuf>,
    /// No warnings or notes while running, only their count (`--quiet`).
    pub quiet: bool,
    /// Folders of tuning filters (`--tuning`).
    pub tuning: Vec<PathBuf>,
    /// Every message, in full, here (`--log`).
    pub log: Option<PathBuf>,
    /// The colour choice as given.
    pub color: ColorChoice,
    /// A progress bar.
    pub progress: bool,
    /// Run the built-in rules: no `--rules` given, or `--with-builtin`.
    pub with_builtin: bool,
    /// Investigation outputs.
    pub case: CaseOptions,
    /// The formats inputs are read with, and their settings.
    pub registry: dwell_ingest::Registry,
    /// Rules given as text (display path, YAML), loaded beside the others: a command's own.
    pub rule_texts: Vec<(String, String)>,
}

/// The built-in formats with `--timezone` and `--read-as` applied.
fn registry(
    timezone: &str,
    read_as: &[String],
    squid: Option<&str>,
) -> Result<dwell_ingest::Registry, Fail> {
    let tz = parse_timezone(timezone).ok_or_else(|| {
        Fail(format!(
            "--timezone '{timezone}' is not UTC, an IANA zone name (Europe/London) or an offset (+01:00)"
        ))
    })?;
    let mut r = dwell_ingest::Registry::builtin().timezone(tz);
    if let Some(spec) = squid {
        let f = dwell_ingest::Squid::with_logformat(spec)
            .map_err(|e| Fail(format!("--squid-logformat: {e}")))?;
        r.replace(f);
    }
    for spec in read_as {
        let Some((name, path)) = spec.split_once('=') else {
            return Err(Fail(format!("--read-as '{spec}' is not FORMAT=PATH")));
        };
        r.read_as(std::path::Path::new(path), name)
            .map_err(|e| Fail(format!("--read-as '{spec}': {e}")))?;
    }
    Ok(r)
}

/// `UTC`, an IANA name, or a fixed offset `±HH:MM` / `±HH`.
fn parse_timezone(s: &str) -> Option<jiff::tz::TimeZone> {
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Some(jiff::tz::TimeZone::UTC);
    }
    if let Some(sign) = s.chars().next().filter(|c| *c == '+' || *c == '-') {
        let (h, m) = s[1..].split_once(':').unwrap_or((&s[1..], "00"));
        let digits = |t: &str| (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || !digits(m) {
            return None;
        }
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        if h > 18 || m > 59 {
            return None;
        }
        let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
        return Some(jiff::tz::TimeZone::fixed(
            jiff::tz::Offset::from_seconds(secs).ok()?,
        ));
    }
    jiff::tz::TimeZone::get(s).ok()
}

pub(crate) fn statuses(list: &str) -> Result<Option<Vec<Status>>, Fail> {
    if list.trim() == "all" {
        return Ok(None);
    }
    let mut v = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        v.push(Status::parse(s).ok_or_else(|| Fail(format!("--status: unknown status '{s}'")))?);
    }
    Ok(Some(v))
}

/// The worker threads and the format registry the input flags ask for.
fn reading_with(input: &crate::cli::InputArgs) -> Result<(usize, dwell_ingest::Registry), Fail> {
    let threads = input
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(Fail("--threads must be at least 1".into()));
    }
    let registry = registry(
        &input.timezone,
        &input.read_as,
        input.squid_logformat.as_deref(),
    )?;
    Ok((threads, registry))
}

impl Scan {
    /// Checks the flags.
    pub fn from_args(a: ScanArgs) -> Result<Scan, Fail> {
        let (threads, registry) = reading_with(&a.input)?;
        let mut window = dwell_pipeline::Window {
            from: a
                .from
                .as_deref()
                .map(|t| bound(t, "--from", false))
                .transpose()?,
            to: a
                .to
                .as_deref()
                .map(|t| bound(t, "--to", true))
                .transpose()?,
        };
        if let Some(z) = &a.output_timezone {
            let tz = parse_timezone(z).ok_or_else(|| {
                Fail(format!(
                    "--output-timezone '{z}' is not UTC, an IANA zone name (Europe/London) or an offset (+01:00)"
                ))
            })?;
            dwell_core::time::set_display_zone(tz);
        }
        // `--last 30d`: the recent events only, as Hayabusa's --timeline-offset (from now).
        if let Some(l) = &a.last {
            let span = dwell_core::time::parse_duration(l)
                .filter(|d| *d > 0)
                .ok_or_else(|| Fail(format!("--last '{l}' is not a duration (30m, 24h, 7d)")))?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            let since = now.saturating_sub(span);
            window.from = Some(window.from.map_or(since, |f| f.max(since)));
        }
        if let (Some(f), Some(t)) = (window.from, window.to)
            && f > t
        {
            return Err(Fail(
                "--from is after --to: no event could be evaluated".into(),
            ));
        }
        let min_level = match &a.min_level {
            None => None,
            Some(l) => Some(Level::parse(l).ok_or_else(|| {
                Fail(format!(
                    "--min-level '{l}' is not one of informational, low, medium, high, critical"
                ))
            })?),
        };
        Ok(Scan {
            load: load_options(&a.rule_options)?,
            selection: Selection {
                min_level,
                statuses: statuses(&a.status)?,
            },
            pipeline: dwell_pipeline::Options {
                threads,
                dedup: a.dedup,
                parse_only: false,
                window,
            },
            // At most 1 TiB (the parser's bound), so the shift cannot overflow.
            sort_memory: usize::try_from(a.sort_memory << 20).unwrap_or(usize::MAX),
            coverage: a.coverage,
            navigator: a.navigator,
            quiet: a.quiet,
            tuning: a.tuning,
            log: a.log,
            color: a.input.color,
            progress: !a.input.no_progress,
            with_builtin: a.with_builtin || a.rules.is_empty(),
            case: case_options(a.case)?,
            registry,
            paths: a.paths,
            rules: a.rules,
            rule_texts: Vec::new(),
        })
    }

    /// A run that reads `paths` with dwell's formats and only the rules in `rule_texts`:
    /// for commands that want events, not detections (`scope`).
    pub fn reading(
        paths: Vec<PathBuf>,
        input: &crate::cli::InputArgs,
        rule_texts: Vec<(String, String)>,
    ) -> Result<Scan, Fail> {
        let (threads, registry) = reading_with(input)?;
        Ok(Scan {
            paths,
            rules: Vec::new(),
            load: LoadOptions::default(),
            selection: Selection {
                min_level: None,
                statuses: None,
            },
            pipeline: dwell_pipeline::Options {
                threads,
                dedup: false,
                parse_only: false,
                window: dwell_pipeline::Window::default(),
            },
            sort_memory: 512 << 20,
            coverage: None,
            navigator: None,
            quiet: false,
            tuning: Vec::new(),
            log: None,
            color: input.color,
            progress: !input.no_progress,
            with_builtin: false,
            case: case_options(CaseArgs {
                case: None,
                html: None,
                timeline: None,
                gap: "24h".into(),
                hosts: Vec::new(),
                identities: None,
            })?,
            registry,
            rule_texts,
        })
    }
}

fn case_options(a: CaseArgs) -> Result<CaseOptions, Fail> {
    let gap = dwell_core::time::parse_duration(&a.gap).ok_or_else(|| {
        Fail(format!(
            "--gap '{}' is not a duration such as 30m, 24h or 7d",
            a.gap
        ))
    })?;
    let mut hosts = Vec::new();
    for spec in &a.hosts {
        match spec.split_once('=') {
            Some((h, p)) if dwell_core::entity::host(h).is_some() && !p.is_empty() => {
                let p = p.strip_prefix("./").unwrap_or(p);
                hosts.push((p.trim_end_matches('/').to_string(), h.to_string()))
            }
            _ => return Err(Fail(format!("--host '{spec}' is not HOST=PATH"))),
        }
    }
    let identity_map = match &a.identities {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Fail(format!("cannot read --identities {}: {e}", p.display())))?;
            dwell_investigate::read_map(&text)
                .map_err(|e| Fail(format!("--identities {}: {e}", p.display())))?
        }
        None => Vec::new(),
    };
    Ok(CaseOptions {
        case: a.case,
        html: a.html,
        timeline: a.timeline,
        gap,
        hosts,
        identity_map,
    })
}

/// A `--from`/`--to` time: RFC 3339, a date and time, or a date alone, in UTC unless it says
/// otherwise. Each covers what it says at its precision, so that a time copied from dwell's
/// output finds its event: a date is its whole day, `12:17:14Z` its whole second, and six
/// digits of fraction (dwell's own, rounded to the microsecond) the nanoseconds that round to
/// them.
pub fn bound(s: &str, flag: &str, end: bool) -> Result<i64, Fail> {
    let t = s.trim();
    let date = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    let fail = || {
        Fail(format!(
            "{flag} '{s}' is not a time (RFC 3339 `2025-04-08T19:00:00Z`, or a date `2025-04-08`)"
        ))
    };
    if date {
        let d = dwell_core::time::parse(&format!("{t}T00:00:00Z")).ok_or_else(fail)?;
        return Ok(if end { d + 86_400_000_000_000 - 1 } else { d });
    }
    let at = dwell_core::time::parse(t).ok_or_else(fail)?;
    // The fraction's digits, after the seconds.
    let digits = t
        .find('.')
        .map(|i| t[i + 1..].bytes().take_while(u8::is_ascii_digit).count())
        .unwrap_or(0)
        .min(9);
    let unit = 10i64.pow(9 - digits as u32);
    Ok(match (digits, end) {
        (9, _) => at,
        (6, false) => at - unit / 2,
        (6, true) => at + unit / 2 - 1,
        (_, false) => at,
        (_, true) => at + unit - 1,
    })
}
