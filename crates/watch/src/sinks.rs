//! Where alerts go. Every sink gets each alert in order, then is made durable before the
//! checkpoint that follows it is written ([`AlertSink::sync`]); what a sink needs to resume is
//! in that checkpoint ([`AlertSink::mark`]). A JSONL file is cut back to its committed length
//! on restart, so alerts re-made from replayed input are written once; stdout cannot be cut
//! back (at-least-once); webhooks carry the alert id for the receiver to drop repeats, retry
//! with backoff, and leave what cannot be delivered in the dead-letter file.

use serde_json::{Value, json};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One alert: hunt's JSONL detection line (which carries `alert_id`), and what chat formats show.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The stable alert id.
    pub id: String,
    /// The JSON line, without its newline.
    pub line: String,
    /// Rule title.
    pub title: String,
    /// Rule level.
    pub level: String,
    /// The host.
    pub host: String,
    /// The event's time as written.
    pub time: String,
}

/// A destination of alerts.
pub trait AlertSink: Send {
    /// How it is named (its spec).
    fn name(&self) -> &str;
    /// Delivers alerts in order. An `Err` is a failure the watcher cannot go on from.
    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), String>;
    /// Makes what was delivered durable.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// What the checkpoint keeps for it.
    fn mark(&self) -> Value {
        Value::Null
    }
    /// Called after each commit (a JSONL file rotates here, so that a rotation never falls
    /// between an alert and the checkpoint that covers it).
    fn committed(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Standard output, one JSON line per alert, flushed.
pub struct Stdout;

impl AlertSink for Stdout {
    fn name(&self) -> &str {
        "stdout"
    }
    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), String> {
        let mut o = io::stdout().lock();
        for a in alerts {
            writeln!(o, "{}", a.line).map_err(|e| format!("stdout: {e}"))?;
        }
        o.flush().map_err(|e| format!("stdout: {e}"))
    }
}

/// A JSON-lines file, rotated by size: `PATH` is written, `PATH.1`, `PATH.2`... are older.
pub struct Jsonl {
    name: String,
    path: PathBuf,
    file: File,
    len: u64,
    generation: u64,
    rotate_at: u64,
}

impl Jsonl {
    /// Opens `path` where the last commit left it (`mark`): cut back to its committed
    /// length, a rotation interrupted by a crash undone.
    pub fn open(path: &Path, mark: &Value, rotate_at: u64) -> io::Result<(Jsonl, Option<String>)> {
        let generation = mark.get("generation").and_then(Value::as_u64).unwrap_or(0);
        let committed = mark.get("len").and_then(Value::as_u64);
        let mut note = None;
        let rotated = rotated_name(path, generation + 1);
        // A rotation renames PATH to PATH.(g+1) after the commit of generation g: found
        // renamed with nothing committed after it, it is put back.
        if committed.is_some()
            && rotated.exists()
            && std::fs::metadata(path).map_or(true, |m| m.len() == 0)
        {
            std::fs::rename(&rotated, path)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut len = file.metadata()?.len();
        if let Some(c) = committed {
            if len > c {
                // Written after the last commit: the replay writes it again.
                file.set_len(c)?;
                len = c;
            } else if len < c {
                note = Some(format!(
                    "{}: shorter ({len} bytes) than at the last commit ({c}): was it edited or replaced? Appending",
                    path.display()
                ));
            }
        }
        Ok((
            Jsonl {
                name: format!("jsonl:{}", path.display()),
                path: path.to_path_buf(),
                file,
                len,
                generation,
                rotate_at,
            },
            note,
        ))
    }
}

fn rotated_name(path: &Path, generation: u64) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{generation}"));
    PathBuf::from(s)
}

impl AlertSink for Jsonl {
    fn name(&self) -> &str {
        &self.name
    }
    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), String> {
        let mut buf = Vec::new();
        for a in alerts {
            buf.extend_from_slice(a.line.as_bytes());
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.len += buf.len() as u64;
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn mark(&self) -> Value {
        json!({"generation": self.generation, "len": self.len})
    }
    fn committed(&mut self) -> io::Result<()> {
        if self.rotate_at == 0 || self.len < self.rotate_at {
            return Ok(());
        }
        let to = rotated_name(&self.path, self.generation + 1);
        std::fs::rename(&self.path, &to)?;
        self.file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)?;
        self.generation += 1;
        self.len = 0;
        Ok(())
    }
}

/// How a webhook's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// The alert's JSON, as in a JSONL file.
    Generic,
    /// Slack incoming webhook (`text`).
    Slack,
    /// Microsoft Teams incoming webhook (a MessageCard).
    Teams,
}

/// A webhook: one POST per alert, with `X-Dwell-Alert-Id` and `Idempotency-Key` set to the
/// alert id; retried with exponential backoff; after the last try, the alert goes to the
/// dead-letter file and delivery goes on.
pub struct Webhook {
    name: String,
    url: String,
    hook: Hook,
    agent: ureq::Agent,
    tries: u32,
    backoff: Duration,
    dead: PathBuf,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl Webhook {
    /// A webhook to `url`; undeliverable alerts are appended to `dead`.
    pub fn new(
        url: &str,
        hook: Hook,
        dead: PathBuf,
        tries: u32,
        backoff: Duration,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Webhook {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        let prefix = match hook {
            Hook::Generic => "webhook",
            Hook::Slack => "webhook+slack",
            Hook::Teams => "webhook+teams",
        };
        Webhook {
            name: format!("{prefix}:{url}"),
            url: url.to_string(),
            hook,
            agent,
            tries: tries.max(1),
            backoff,
            dead,
            metrics,
        }
    }

    fn body(&self, a: &Alert) -> String {
        // Host names and titles come from logs and rules: escaped as Slack and Teams require,
        // so that a crafted value cannot become a link or markup in the chat.
        let esc = |v: &str| {
            v.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let summary = format!(
            "[{}] {} on {} at {}",
            esc(&a.level),
            esc(&a.title),
            esc(&a.host),
            esc(&a.time)
        );
        match self.hook {
            Hook::Generic => a.line.clone(),
            Hook::Slack => {
                json!({ "text": format!("dwell: {summary} (alert {})", a.id) }).to_string()
            }
            Hook::Teams => json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": summary,
                "themeColor": match a.level.as_str() {
                    "critical" => "8B0000",
                    "high" => "D32F2F",
                    "medium" => "F57C00",
                    _ => "607D8B",
                },
                "title": format!("dwell: {}", a.title),
                "text": format!("{summary}<br>alert {}", a.id),
            })
            .to_string(),
        }
    }

    /// One POST; `Ok(true)` delivered, `Ok(false)` refused for good (a 4xx other than 408/429).
    fn post(&self, a: &Alert, body: &str) -> Result<bool, String> {
        let r = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Dwell-Alert-Id", &a.id)
            .header("Idempotency-Key", &a.id)
            .send(body);
        match r {
            Ok(resp) => {
                let s = resp.status().as_u16();
                if (200..300).contains(&s) {
                    Ok(true)
                } else if (400..500).contains(&s) && s != 408 && s != 429 {
                    Ok(false)
                } else {
                    Err(format!("HTTP {s}"))
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn dead_letter(&self, a: &Alert, why: &str) -> Result<(), String> {
        let line = json!({
            "sink": self.name,
            "error": why,
            "alert": serde_json::from_str::<Value>(&a.line).unwrap_or(Value::Null),
        });
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.dead)
            .map_err(|e| format!("{}: {e}", self.dead.display()))?;
        writeln!(f, "{line}")
            .and_then(|_| f.sync_data())
            .map_err(|e| format!("{}: {e}", self.dead.display()))?;
        self.metrics
            .dead_letters
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

impl AlertSink for Webhook {
    fn name(&self) -> &str {
        &self.name
    }
    fn deliver(&mut self, alerts: &[Alert]) -> Result<(), String> {
        for a in alerts {
            let body = self.body(a);
            let mut wait = self.backoff;
            let mut last = String::new();
            let mut done = false;
            for attempt in 0..self.tries {
                match self.post(a, &body) {
                    Ok(true) => {
                        done = true;
                        break;
                    }
                    Ok(false) => {
                        last = "refused by the endpoint (4xx)".into();
                        break;
                    }
                    Err(e) => last = e,
                }
                *crate::metrics::lock(&self.metrics.sink_errors)
                    .entry(self.name.clone())
                    .or_default() += 1;
                if attempt + 1 < self.tries {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
            if !done {
                self.dead_letter(a, &last)?;
            }
        }
        Ok(())
    }
}
