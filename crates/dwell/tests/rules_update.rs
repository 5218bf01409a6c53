//! `dwell rules update` with SigmaHQ's own rules as the new release (zip and tar.gz, written
//! by the test): the diff against an older folder is what the test did to that folder (read
//! by the test from the files' `id:` lines, not by dwell's parser), the folder becomes the
//! release exactly, tuning filters naming a rule that went are named, and an archive with a
//! path outside the folder is refused with nothing written.

mod common;

use common::{dwell, p, stderr, stdout};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

fn id_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        // A YAML comment after the id is not part of it.
        .split(" #")
        .next()
        .unwrap()
        .trim()
        .to_string()
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn an_update_says_what_changed_and_puts_the_release_in_place() {
    let Some(shared) = common::shared() else {
        return;
    };
    let src = shared.join("data/sigma/rules/windows/process_creation");
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    let release: BTreeMap<String, String> = names
        .iter()
        .map(|n| {
            (
                format!("rules/windows/process_creation/{n}"),
                std::fs::read_to_string(src.join(n)).unwrap(),
            )
        })
        .collect();
    let t = tempfile::tempdir().unwrap();
    // The release as SigmaHQ ships it (a zip) and as GitHub does (a .tar.gz in one folder).
    let zip_path = t.path().join("sigma_core.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for (path, text) in &release {
        z.start_file(path.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    let tgz_path = t.path().join("sigma-master.tar.gz");
    let mut tb = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&tgz_path).unwrap(),
        flate2::Compression::fast(),
    ));
    for (path, text) in &release {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tb.append_data(&mut h, format!("sigma-master/{path}"), text.as_bytes())
            .unwrap();
    }
    tb.into_inner().unwrap().finish().unwrap();
    // The folder before: the first 300 rules, one lowered, one not there yet, one moved, and
    // one of its own that the release does not have.
    let old = t.path().join("sigma");
    let paths: Vec<&String> = release.keys().take(300).collect();
    for path in &paths[1..] {
        let f = old.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, &release[*path]).unwrap();
    }
    let lowered = paths
        .iter()
        .find(|p| release[**p].contains("\nlevel: high\n"))
        .unwrap();
    std::fs::write(
        old.join(lowered),
        release[*lowered].replace("\nlevel: high\n", "\nlevel: low\n"),
    )
    .unwrap();
    let moved = paths[5];
    std::fs::rename(old.join(moved), old.join("rules/moved.yml")).unwrap();
    let gone = "title: A rule the release dropped\nid: 7d3a5f9e-0000-4000-8000-000000000001\nstatus: test\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: '\\old.exe'}\n  condition: s\nlevel: low\n";
    std::fs::write(old.join("rules/dropped.yml"), gone).unwrap();
    let tuning = t.path().join("tuning");
    std::fs::create_dir(&tuning).unwrap();
    std::fs::write(
        tuning.join("f.yml"),
        format!("title: Old exclusion\nlogsource: {{product: windows}}\nfilter:\n  rules: [{}, {}]\n  s: {{User: x}}\n  condition: not s\n", id_of(gone), id_of(&release[*lowered])),
    )
    .unwrap();
    // The truth, from the files.
    let ids = |m: &BTreeMap<String, Vec<u8>>| -> BTreeSet<String> {
        m.values()
            .map(|b| id_of(&String::from_utf8_lossy(b)))
            .collect()
    };
    let before_tree = tree(&old);
    let new_ids: BTreeSet<String> = release.values().map(|x| id_of(x)).collect();
    let old_ids = ids(&before_tree);
    let want_added: BTreeSet<String> = new_ids.difference(&old_ids).cloned().collect();
    let want_removed: BTreeSet<String> = old_ids.difference(&new_ids).cloned().collect();
    let run = |source: &Path, dry: bool| -> (Value, String) {
        let mut a = vec![
            "rules",
            "update",
            p(source),
            "--into",
            p(&old),
            "--tuning",
            p(&tuning),
            "--format",
            "json",
        ];
        if dry {
            a.push("--dry-run");
        }
        let o = dwell(&a);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        (serde_json::from_str(&stdout(&o)).unwrap(), stderr(&o))
    };
    let set = |v: &Value, k: &str| -> BTreeSet<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    for source in [&tgz_path, &zip_path] {
        let (d, err) = run(source, true);
        let got = set(&d, "added");
        assert!(
            got == want_added,
            "{}: only dwell: {:?}; only the truth: {:?}; problems: {}",
            source.display(),
            got.difference(&want_added).take(5).collect::<Vec<_>>(),
            want_added.difference(&got).take(5).collect::<Vec<_>>(),
            d["new_errors"]
        );
        assert_eq!(set(&d, "removed"), want_removed);
        let changed: BTreeMap<String, Vec<String>> = d["changed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_string(),
                    c["what"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|w| w.as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert_eq!(changed[&id_of(&release[*lowered])], ["level: low -> high"]);
        assert_eq!(
            changed[&id_of(&release[moved])],
            [format!("file: rules/moved.yml -> {moved}")]
        );
        assert_eq!(
            d["unchanged"],
            old_ids.len() as u64 - 2 - want_removed.len() as u64
        );
        assert!(
            err.contains(&format!(
                "names rule {}, which the new release does not have",
                id_of(gone)
            )),
            "{err}"
        );
        assert!(!err.contains(&id_of(&release[*lowered])), "{err}");
        assert_eq!(tree(&old), before_tree, "a dry run changes nothing");
    }
    // Applied: the folder is the release, byte for byte.
    let (d, _) = run(&zip_path, false);
    assert_eq!(d["applied"], true);
    let after = tree(&old);
    assert_eq!(after.len(), release.len());
    for (path, text) in &release {
        assert_eq!(after[path], text.as_bytes(), "{path}");
    }
    // An archive that writes outside the folder is refused, and nothing changes.
    let evil = t.path().join("evil.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
    z.start_file("../evil.yml", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"title: x\n").unwrap();
    z.finish().unwrap();
    let o = dwell(&["rules", "update", p(&evil), "--into", p(&old)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("unsafe path"), "{}", stderr(&o));
    assert_eq!(tree(&old), after);
    assert!(!t.path().join("evil.yml").exists());
}
