//! `dwell tune`: the proposals of `dwell_report::tune` for a case file's set-aside rules,
//! printed as a table and written one filter a file, for a person to review.

use crate::cli::TuneArgs;
use crate::{Fail, Outcome};
use dwell_core::text::terminal;

pub fn run(args: TuneArgs) -> Result<Outcome, Fail> {
    let noise = dwell_report::case::noise(&args.case)?;
    let name = args.case.file_name().map_or_else(
        || args.case.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let proposals = dwell_report::tune::propose(&noise, &name, args.min);
    if proposals.is_empty() {
        eprintln!(
            "dwell tune: nothing to propose: no rule set aside with at least {} detections has one value most of them share",
            args.min
        );
        return Ok(Outcome::of(false));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Fail(format!("cannot create {}: {e}", args.out.display())))?;
    println!(
        "{:<48}  {:<8}  {:<10}  {:>15}  {:<5}  EXCLUDE WHEN",
        "RULE", "LEVEL", "SET ASIDE", "COVERED", "HOSTS"
    );
    let mut written = 0;
    for p in &proposals {
        let path = args.out.join(&p.file);
        match std::fs::read_to_string(&path) {
            Ok(old) if old == p.yaml => {}
            Ok(_) if !args.force => {
                return Err(Fail(format!(
                    "{} exists and differs: review it, or give --force",
                    path.display()
                )));
            }
            _ => {
                std::fs::write(&path, &p.yaml)
                    .map_err(|e| Fail(format!("cannot write {}: {e}", path.display())))?;
                written += 1;
            }
        }
        let clip = |s: &str, n: usize| {
            let s = terminal(s);
            if s.chars().count() <= n {
                s.into_owned()
            } else {
                let mut c: String = s.chars().take(n - 1).collect();
                c.push('…');
                c
            }
        };
        println!(
            "{:<48}  {:<8}  {:<10}  {:>15}  {:<5}  {}",
            clip(&p.rule_title, 48),
            p.level,
            clip(&p.reason, 10),
            format!("{}/{} ({})", p.covered, p.sampled, p.total),
            p.hosts.len(),
            clip(&format!("{} = {}", p.field, p.value), 80)
        );
    }
    eprintln!(
        "dwell tune: {} proposal(s) in {} ({written} written): review each, then move those you accept into a folder given to --tuning",
        proposals.len(),
        args.out.display()
    );
    Ok(Outcome::of(false))
}
