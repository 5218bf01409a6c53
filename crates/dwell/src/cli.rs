//! The command line as typed: clap's view of the flags. `options` turns these into validated
//! settings; nothing else reads them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "dwell",
    version,
    about = "Find an intruder in the logs: Sigma detections over Windows, Linux, identity, cloud, database, web and proxy logs",
    after_help = "Exit codes: 0 completed; 1 completed but some inputs or rules were skipped (each reported); 2 could not run."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run Sigma rules over log files and folders and report every detection, sorted by time.
    Hunt(HuntArgs),
    /// Hunt, then join the detections into incidents: dwell time, patient zero, hosts,
    /// accounts, ATT&CK tactics and lateral movement.
    Investigate(InvestigateArgs),
    /// Reopen a case file written by --case and report on it again.
    Report(ReportArgs),
    /// The whole story with nothing but the binary: simulate a retailer's estate with an
    /// intruder inside, investigate it with the built-in rules, and say on one screen when it
    /// started, where it went and what it touched, beside the simulator's ground truth.
    Demo(DemoArgs),
    /// Write a simulated retailer's estate (identity provider, service desk, Windows, database,
    /// Linux, ESXi, proxy and web logs) with an intrusion in it, and its ground truth.
    Simulate(SimulateArgs),
    /// What the intruder read from the databases, and whose data it was: the principals'
    /// statements in PostgreSQL logs, worked out with a SQL parser and counted in people
    /// against a data map and table snapshots (docs/scope.md).
    Scope(ScopeArgs),
    /// Propose tuning filters from a case file: for each rule the investigation set aside as
    /// routine or widespread, the field value most of its detections share, as a Sigma
    /// exclusion filter to review and put in a --tuning folder (docs/tuning.md).
    Tune(TuneArgs),
    /// Detect as events arrive: follow files, take syslog and HTTP, run the same rules and
    /// correlations as hunt, and deliver each alert once, checkpointed so that a crash or a
    /// restart loses and doubles nothing (docs/watch.md).
    Watch(WatchArgs),
    /// Work with rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate rules; exits 1 when any rule is invalid.
    Check(CheckArgs),
    /// List dwell's built-in rules (used when no --rules is given): level, ATT&CK tags, title.
    List(ListArgs),
    /// Write the built-in rules out as Sigma YAML files under DIR (to read, tune or run
    /// elsewhere); refuses to overwrite a file that differs.
    Export(ExportArgs),
    /// Replace a rule folder with a newer SigmaHQ release, from its archive (zip, tar.gz) or
    /// a folder, without network, saying what was added, removed and changed; exits 1 when
    /// files of the new release do not load (named).
    Update(UpdateArgs),
}

/// How inputs are read and the run shown: shared by every command that reads logs.
#[derive(Args)]
pub struct InputArgs {
    /// Time zone of log times written without an offset: `UTC`, an IANA name
    /// (`Europe/London`) or a fixed offset (`+01:00`).
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub timezone: String,
    /// Read the inputs at or under PATH as FORMAT, whatever their content looks like;
    /// repeatable (`--read-as syslog=/var/log/esxi`).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub read_as: Vec<String>,
    /// Squid access logs are written with this `logformat` (as in squid.conf, without its
    /// name), instead of the native format.
    #[arg(long, value_name = "SPEC")]
    pub squid_logformat: Option<String>,
    /// Worker threads [default: all cores].
    #[arg(short, long, value_name = "N")]
    pub threads: Option<usize>,
    /// Colour in the table and messages.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Args)]
pub struct ScopeArgs {
    /// Logs to search for the principals' reads: database logs (PostgreSQL csvlog, jsonlog,
    /// stderr, with pgaudit or statement logging), the access logs of the data map's
    /// applications, Windows logs with file access (4663, Sysmon 11 and 23); files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The principals and window are an incident of this case file (`investigate --case`):
    /// the accounts it compromised and the addresses its detections name, from its first
    /// malicious event to its last.
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// The incident of --case [default: the gravest campaign].
    #[arg(long, value_name = "N", requires = "case")]
    pub incident: Option<u32>,
    /// An account whose reads count (its user part: `svc_reports`); repeatable.
    #[arg(long = "account", value_name = "NAME")]
    pub accounts: Vec<String>,
    /// A client address whose reads count; repeatable.
    #[arg(long = "ip", value_name = "ADDRESS")]
    pub ips: Vec<String>,
    /// A host whose file accesses count when no --account is given; repeatable.
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Only reads at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only reads at or before this time.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// The data map: tables of people, their person column and each column's category.
    #[arg(long, value_name = "FILE")]
    pub data_map: PathBuf,
    /// A table's snapshot, CSV with a header (`public.customers=customers.csv`); repeatable.
    #[arg(long = "snapshot", value_name = "TABLE=FILE")]
    pub snapshots: Vec<String>,
    /// The database itself (`postgres://user@host:port/db`): each read is run again, rewritten
    /// to return only the person keys, in a read-only transaction with a statement timeout.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<IncidentFormat>,
    /// Write the affected people's keys with their categories here (CSV, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Also write each person's name, email, phone and postal address into --keys (from the
    /// snapshots, else the database), to tell them.
    #[arg(long, requires = "keys")]
    pub with_contacts: bool,
    /// Write the keys of the people whose credentials (password hashes, tokens) were read
    /// here, to force their resets (CSV, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub resets: Option<PathBuf>,
    /// Write a breach-notification draft here: FILE.md for Markdown, FILE.html for one
    /// self-contained page (what GDPR Art. 33(3) and the ICO ask, every figure citing its
    /// evidence).
    #[arg(long, value_name = "FILE.md|FILE.html")]
    pub report: Option<PathBuf>,
    /// When the controller became aware of the breach, for the 72-hour deadline [default: now].
    #[arg(long, value_name = "TIME", requires = "report")]
    pub aware: Option<String>,
    /// Write the document here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Args)]
pub struct TuneArgs {
    /// The case file (`investigate --case`).
    #[arg(value_name = "CASE")]
    pub case: PathBuf,
    /// Write the proposed filters here, one file each (created if missing).
    #[arg(long, value_name = "DIR", default_value = "tuning-proposed")]
    pub out: PathBuf,
    /// Only rules with at least this many set-aside detections.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub min: u64,
    /// Overwrite a proposal file that differs.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where to write the estate, the case file and the HTML report [default: a new folder
    /// in the system's temporary folder].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The simulation's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How busy the simulated estate is (see `simulate --scale`).
    #[arg(long, default_value_t = 0.2)]
    pub scale: f64,
    /// Cut the story at this time (see `simulate --until`).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Sigma rules to run beside the built-in ones (e.g. SigmaHQ's rules/).
    #[arg(short, long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Colour in the messages.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// The folder to write the estate to (created; must be empty or absent).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The seed: the same seed and options write the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How busy the estate is (1: 150 staff, 20,000 customers; above 0, at most 100).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Write nothing after this time (`2025-03-01`, `2025-03-01T12:00:00Z`): the story of a
    /// breach caught early.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    /// One JSON object per rule instead of aligned lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    /// The new release: a zip (SigmaHQ's release assets), a .tar.gz (a source archive) or a
    /// folder.
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// The rule folder to replace (created if missing). It becomes the new release exactly:
    /// keep your own rules and tuning filters elsewhere.
    #[arg(long, value_name = "DIR")]
    pub into: PathBuf,
    /// Only say what would change.
    #[arg(long)]
    pub dry_run: bool,
    /// Tuning folders whose filters should still name rules that exist; repeatable.
    #[arg(long, value_name = "DIR")]
    pub tuning: Vec<PathBuf>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<IncidentFormat>,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The folder to write to (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// Aligned, coloured lines (default when stdout is a terminal).
    Table,
    /// A timeline, one row per detection (Timesketch and spreadsheets).
    Csv,
    /// One JSON object per detection (default when stdout is not a terminal).
    Jsonl,
    /// JSON lines for Timesketch: `message`, `datetime`, `timestamp_desc` first.
    Timesketch,
    /// OCSF Detection Finding objects (class 2004), one per line.
    Ocsf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IncidentFormat {
    /// A summary for people (default when stdout is a terminal).
    Table,
    /// One JSON document (default when stdout is not a terminal); see docs/investigate.md.
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
pub struct WatchArgs {
    /// Where events come from; repeatable: file:PATH (a file or folder, followed through
    /// rotation), stdin, syslog+udp:ADDR, syslog+tcp:ADDR, http:ADDR (POST /ingest).
    #[arg(long = "source", value_name = "SPEC", required = true)]
    pub sources: Vec<String>,
    /// Where alerts go; repeatable: stdout, jsonl:PATH, webhook:URL, webhook+slack:URL,
    /// webhook+teams:URL.
    #[arg(
        long = "sink",
        value_name = "SPEC",
        required_unless_present = "forward"
    )]
    pub sinks: Vec<String>,
    /// Detect nothing here: hand every record, as written, to this NATS server's stream
    /// (nats://HOST:PORT), under --subject-prefix and its partition key, for the stream's
    /// workers; positions are committed once the stream has stored what they cover.
    #[arg(long, value_name = "URL")]
    pub forward: Option<String>,
    /// The event field whose value is a forwarded record's partition key [default: its host].
    #[arg(long, value_name = "FIELD", requires = "forward")]
    pub partition_key: Option<String>,
    /// The state directory: checkpoints (file positions, correlation windows, sink marks,
    /// the ledger) and the dead-letter file. One watcher per directory.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Sigma rule file or folder; repeatable [default: the built-in rules]. SIGHUP reads
    /// them again; a set that does not load is refused and the working one kept.
    #[arg(short, long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Add the built-in rules to those given with --rules.
    #[arg(long)]
    pub with_builtin: bool,
    /// Folders of tuning filters, as for hunt; repeatable.
    #[arg(long, value_name = "DIR")]
    pub tuning: Vec<PathBuf>,
    /// Only run rules of this level or above.
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// Rule statuses to run, comma-separated, or `all`.
    #[arg(long, value_name = "LIST", default_value = "stable,test,experimental")]
    pub status: String,
    /// Serve GET /healthz and GET /metrics (Prometheus) here.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// A file holding the bearer token the HTTP endpoints require (or DWELL_WATCH_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Largest HTTP request body, in KiB, before and after decompression.
    #[arg(long, value_name = "KIB", default_value_t = 10240,
          value_parser = clap::value_parser!(u64).range(1..=1 << 22))]
    pub max_body_kib: u64,
    /// Commit (checkpoint) at least this often while events arrive, in milliseconds; an
    /// HTTP request is answered at the next commit.
    #[arg(long, value_name = "MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub commit_ms: u64,
    /// How often followed files are looked at, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub poll_ms: u64,
    /// Rotate a JSONL sink once it is over this many MiB (0: never).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub rotate_mib: u64,
    /// Tries per alert for a webhook before it goes to the dead-letter file.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub webhook_tries: u32,
    /// Time zone of log times written without an offset.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub timezone: String,
    /// Read the inputs at or under PATH as FORMAT, whatever their content looks like.
    #[arg(long, value_name = "FORMAT=PATH")]
    pub read_as: Vec<String>,
    /// The JetStream stream a nats: source reads (created if absent).
    #[arg(long, value_name = "NAME", default_value = "DWELL_EVENTS")]
    pub stream: String,
    /// The subject prefix producers publish records under, as PREFIX.KEY.
    #[arg(long, value_name = "PREFIX", default_value = "dwell.events")]
    pub subject_prefix: String,
    /// Partitions of the stream, fixed when it is created (docs/watch.md: sizing).
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: u32,
    /// How long a partition's lease lasts unrenewed, in milliseconds: the longest a dead
    /// worker's partitions wait for another.
    #[arg(long, value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(500..=600_000))]
    pub lease_ms: u64,
    /// This worker's name among the stream's workers [default: host name and process id].
    #[arg(long, value_name = "NAME")]
    pub worker: Option<String>,
    /// How long JetStream remembers alert and match ids, in minutes: longer than a worker
    /// can be down before its replay.
    #[arg(long, value_name = "MIN", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=10_080))]
    pub duplicate_window_min: u64,
    /// How far out of time order the events of one partition may arrive, in milliseconds:
    /// correlations and first-seen rules wait this much longer for the stragglers.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub lateness_ms: u64,
    #[command(flatten)]
    pub rule_options: RuleOptions,
}

/// Options shared by every command that loads rules.
#[derive(Args, Clone)]
pub struct RuleOptions {
    /// A value for an `expand` placeholder, as NAME=VALUE (repeat for several values).
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholder: Vec<String>,
    /// A YAML file mapping placeholder names to lists of values.
    #[arg(long = "placeholders", value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

/// What `hunt` and `investigate` share: the inputs, the rules and how to run them.
#[derive(Args)]
pub struct ScanArgs {
    /// Log files or folders (searched recursively), or `-` for standard input, optionally
    /// gzip- or zstd-compressed; each is recognised by its content (docs/sources/).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Sigma rule file or folder; repeatable. When given, exactly these rules are used;
    /// without it, dwell's built-in rules (`dwell rules list`).
    #[arg(short, long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Add dwell's built-in rules to those given with --rules.
    #[arg(long)]
    pub with_builtin: bool,
    /// A folder of tuning filters (Sigma filter documents: exclusions, and a filter's own
    /// `level` to re-level the rules it names), kept apart from the rules so that it
    /// survives their updates; repeatable (docs/tuning.md; `dwell tune` proposes them).
    #[arg(long, value_name = "DIR")]
    pub tuning: Vec<PathBuf>,
    /// Only run rules of this level or above (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// Rule statuses to run, comma-separated, or `all`.
    #[arg(long, value_name = "LIST", default_value = "stable,test,experimental")]
    pub status: String,
    /// Drop detections of events seen twice (the same record in a live log and its backup).
    #[arg(long)]
    pub dedup: bool,
    /// Only evaluate events at or after this time (RFC 3339, or a date: its first moment);
    /// the others, and events without a time, are counted and left out.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only evaluate events at or before this time (a date: its last moment).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Only evaluate the events of the last DURATION before now (30m, 24h, 7d), as
    /// Hayabusa's --timeline-offset; with --from, the later of the two.
    #[arg(long, value_name = "DURATION")]
    pub last: Option<String>,
    /// Write times in this zone, with its offset (an IANA name such as Europe/London, or
    /// +01:00), instead of UTC; times are compared as instants either way.
    #[arg(long, value_name = "ZONE")]
    pub output_timezone: Option<String>,
    /// Write a JSON report of what was read and which rules could fire, and why not.
    #[arg(long, value_name = "FILE")]
    pub coverage: Option<PathBuf>,
    /// Write an ATT&CK Navigator layer of what fired: techniques scored by their detections,
    /// coloured by level.
    #[arg(long, value_name = "FILE")]
    pub navigator: Option<PathBuf>,
    /// Memory for sorting detections before spilling to temporary files, in MiB (1 to
    /// 1048576).
    #[arg(long, value_name = "MIB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub sort_memory: u64,
    /// No warnings or notes while running: only how many there were, by kind, at the end
    /// (with --log, every one is in the file).
    #[arg(short, long)]
    pub quiet: bool,
    /// Write every warning and note, in full, to FILE (on the terminal, repeated ones are
    /// folded by kind).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub rule_options: RuleOptions,
    #[command(flatten)]
    pub case: CaseArgs,
}

/// Investigation outputs; any of them makes `hunt` build incidents too.
#[derive(Args, Clone)]
pub struct CaseArgs {
    /// Write the case file: a SQLite database of detections, incidents, entities and
    /// movements (schema: docs/case-file.md).
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Write a self-contained HTML report of the incidents.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the incidents' timeline for Timesketch: CSV, or JSON lines when FILE ends in
    /// .jsonl.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Detections further apart than this are not linked (e.g. 30m, 24h, 7d), unless a
    /// campaign compromised what they share.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub gap: String,
    /// Logs at or under PATH are from HOST when their events do not say (ESXi's and
    /// PostgreSQL's own log files); repeatable (`--host ESX01=logs/esx01`).
    #[arg(long = "host", value_name = "HOST=PATH")]
    pub hosts: Vec<String>,
    /// An identity map: CSV rows of `identity,person`, for names the logs cannot join
    /// (docs/investigate.md).
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
}

#[derive(Args)]
pub struct HuntArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Read and route every event to the rules of its log source, but evaluate no rule: to
    /// check what dwell makes of the inputs (formats, problems, --coverage) at parsing speed.
    #[arg(long, conflicts_with_all = ["case", "html", "timeline"])]
    pub parse_only: bool,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<OutFormat>,
    /// How much of each event goes with a detection in csv, jsonl and timesketch [default:
    /// standard for csv, all for jsonl and timesketch] (docs/output.md#profiles).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// Write CSV cells as they are, even those a spreadsheet would run as formulas (by
    /// default they get a leading `'`): for readers that are not spreadsheets.
    #[arg(long)]
    pub csv_formulas: bool,
    /// Write detections here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// The rule, time, host and where the event is: no event content.
    Minimal,
    /// With the matched fields and the event's details.
    Standard,
    /// Standard, and every other field of the event as one text (`extra`).
    Verbose,
    /// Standard, and the whole event.
    All,
}

#[derive(Args)]
pub struct InvestigateArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<IncidentFormat>,
    /// Write the incidents here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReportArgs {
    /// A case file written by `hunt --case` or `investigate --case`.
    #[arg(value_name = "CASE")]
    pub case: PathBuf,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<IncidentFormat>,
    /// Write the incidents here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the incidents' timeline for Timesketch (CSV, or JSON lines for .jsonl).
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Rule files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also list rules whose log source dwell cannot recognise in events.
    #[arg(long)]
    pub mapping: bool,
    #[command(flatten)]
    pub rule_options: RuleOptions,
}
