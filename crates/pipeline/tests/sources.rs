//! Every Sigma log source dwell reads beyond Windows, end to end: for each, a SigmaHQ rule of
//! that log source fires on the realistic events of a fixture and not on its benign ones
//! (fixtures in `tests/fixtures/sources/`, their shapes' origins in its README). And over the
//! whole SigmaHQ rule set, the share of rules whose log source dwell reads.

use dwell_detect::{Detector, Mapping, Selection};
use dwell_ingest::{FileSource, Registry, discover};
use dwell_pipeline::{Collect, Options, Pipeline, SortSpill};
use dwell_testdata::shared;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sources")
        .join(name)
}

/// The records (their first lines) of `input` that `rules` fire on, and the format read.
fn fired(rules: &[PathBuf], input: &Path) -> (Vec<u64>, String) {
    let registry = Registry::builtin();
    let set = dwell_sigma::load_paths(rules, &Default::default());
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let mapping = Mapping::from_texts(&registry.mappings()).unwrap();
    let mut detector = Detector::build(
        Selection::default().apply(set.rules, set.correlations),
        &mapping,
    );
    assert!(
        detector.unmapped.is_empty(),
        "{rules:?}: {:?}",
        detector.unmapped
    );
    let (found, skipped) = discover(&[input.to_path_buf()]);
    assert!(skipped.is_empty(), "{skipped:?}");
    let mut source = FileSource::new(found, registry);
    let mut sink = Collect::default();
    let stats = Pipeline::new(
        &mut detector,
        Options {
            threads: 1,
            dedup: false,
            parse_only: false,
            window: Default::default(),
        },
    )
    .run(
        &mut source,
        Box::new(SortSpill::new(1 << 24)),
        &mut [&mut sink],
    )
    .unwrap();
    assert_eq!(
        stats.problems(),
        0,
        "{}: problems reading it",
        input.display()
    );
    let format = stats.inputs[0]
        .format
        .as_ref()
        .map(|f| f.name().to_string())
        .unwrap_or_default();
    let mut lines: Vec<u64> = sink.detections.iter().map(|d| d.record).collect();
    lines.sort();
    (lines, format)
}

/// (SigmaHQ rule under `rules/`, fixture, the format it is read as, records that must fire;
/// every other record of the fixture must not).
const CASES: &[(&str, &str, &str, &[u64])] = &[
    (
        "identity/okta/okta_user_created.yml",
        "okta.json",
        "okta",
        &[3],
    ),
    (
        "cloud/azure/signin_logs/azure_account_lockout.yml",
        "entra-signin.json",
        "azure",
        &[2],
    ),
    (
        "cloud/azure/audit_logs/azure_service_principal_created.yml",
        "entra-audit.jsonl",
        "azure",
        &[1],
    ),
    (
        "cloud/azure/identity_protection/azure_identity_protection_new_coutry_region.yml",
        "entra-risk.json",
        "azure",
        &[2],
    ),
    (
        "cloud/azure/activity_logs/azure_granting_permission_detection.yml",
        "azure-activity.jsonl",
        "azure",
        &[1],
    ),
    (
        "cloud/aws/cloudtrail/aws_cloudtrail_pua_trufflehog.yml",
        "cloudtrail.json",
        "cloudtrail",
        &[2],
    ),
    (
        "cloud/gcp/audit/gcp_dlp_re_identifies_sensitive_information.yml",
        "gcp.jsonl",
        "gcp",
        &[1],
    ),
    (
        "cloud/gcp/gworkspace/login/gcp_gworkspace_govattack.yml",
        "gcp.jsonl",
        "gcp",
        &[3],
    ),
    (
        "cloud/gcp/gworkspace/admin/gcp_gworkspace_role_privilege_deleted.yml",
        "workspace-admin.jsonl",
        "gcp",
        &[1],
    ),
    (
        "cloud/m365/audit/microsoft365_disabling_mfa.yml",
        "m365.jsonl",
        "m365",
        &[1],
    ),
    (
        "cloud/m365/threat_management/microsoft365_impossible_travel_activity.yml",
        "m365.jsonl",
        "m365",
        &[2],
    ),
    (
        "cloud/m365/threat_detection/microsoft365_from_susp_ip_addresses.yml",
        "m365.jsonl",
        "m365",
        &[3],
    ),
    (
        "cloud/m365/exchange/microsoft365_new_federated_domain_added_exchange.yml",
        "m365.jsonl",
        "m365",
        &[4],
    ),
    (
        "application/github/audit/github_pages_site_changed_to_public.yml",
        "github.jsonl",
        "github",
        &[1],
    ),
    (
        "application/kubernetes/audit/kubernetes_audit_secrets_enumeration.yml",
        "k8s-audit.jsonl",
        "kubernetes-audit",
        &[1],
    ),
    (
        "application/kubernetes/audit/kubernetes_audit_unauthorized_unauthenticated_actions.yml",
        "k8s-audit.jsonl",
        "kubernetes-audit",
        &[2],
    ),
    (
        "network/zeek/zeek_dce_rpc_potential_petit_potam_efs_rpc_call.yml",
        "zeek.jsonl",
        "zeek",
        &[1],
    ),
    (
        "network/zeek/zeek_dns_kerberos_coercion_via_dns_object_spn_spoofing.yml",
        "zeek.jsonl",
        "zeek",
        &[3],
    ),
    (
        "network/zeek/zeek_http_webdav_put_request.yml",
        "zeek.jsonl",
        "zeek",
        &[5],
    ),
    (
        "network/zeek/zeek_smb_converted_win_impacket_secretdump.yml",
        "zeek.jsonl",
        "zeek",
        &[7],
    ),
    (
        "network/zeek/zeek_susp_kerberos_rc4.yml",
        "zeek.jsonl",
        "zeek",
        &[9],
    ),
    (
        "network/zeek/zeek_rdp_public_listener.yml",
        "zeek.jsonl",
        "zeek",
        &[11],
    ),
    (
        "network/zeek/zeek_default_cobalt_strike_certificate.yml",
        "zeek.jsonl",
        "zeek",
        &[13],
    ),
    (
        "network/dns/net_dns_susp_b64_queries.yml",
        "zeek.jsonl",
        "zeek",
        &[15],
    ),
    (
        "linux/process_creation/proc_creation_lnx_esxcli_vm_kill.yml",
        "esxi-shell.log",
        "syslog",
        &[3],
    ),
    (
        "linux/builtin/lnx_privileged_user_creation.yml",
        "auth.log",
        "syslog",
        &[2],
    ),
    (
        "linux/builtin/sshd/lnx_sshd_susp_ssh.yml",
        "auth.log",
        "syslog",
        &[4],
    ),
    (
        "linux/builtin/lnx_ldso_preload_injection.yml",
        "auth.log",
        "syslog",
        &[5],
    ),
    (
        "linux/builtin/cron/lnx_cron_crontab_file_modification.yml",
        "syslog",
        "syslog",
        &[2],
    ),
    (
        "linux/builtin/syslog/lnx_syslog_susp_named.yml",
        "syslog",
        "syslog",
        &[4],
    ),
    (
        "linux/builtin/clamav/lnx_clamav_relevant_message.yml",
        "syslog",
        "syslog",
        &[5],
    ),
    (
        "linux/builtin/vsftpd/lnx_vsftpd_susp_error_messages.yml",
        "syslog",
        "syslog",
        &[7],
    ),
    (
        "linux/builtin/guacamole/lnx_guacamole_susp_guacamole.yml",
        "syslog",
        "syslog",
        &[8],
    ),
    (
        "linux/auditd/lnx_auditd_susp_c2_commands.yml",
        "audit.log",
        "auditd",
        &[1],
    ),
    (
        "web/webserver_generic/web_source_code_enumeration.yml",
        "access.log",
        "access-log",
        &[2],
    ),
    (
        "web/webserver_generic/web_source_code_enumeration.yml",
        "u_ex240408.log",
        "w3c",
        &[6],
    ),
    (
        "web/proxy_generic/proxy_ua_rclone.yml",
        "squid-access.log",
        "squid",
        &[1],
    ),
    (
        "web/proxy_generic/proxy_ua_empty.yml",
        "squid-access.log",
        "squid",
        &[3],
    ),
    (
        "web/product/apache/web_apache_segfault.yml",
        "apache-error.log",
        "web-error",
        &[2],
    ),
    (
        "web/product/nginx/web_nginx_core_dump.yml",
        "nginx-error.log",
        "web-error",
        &[2],
    ),
    (
        "category/database/db_anomalous_query.yml",
        "postgresql.csv",
        "postgresql",
        &[2],
    ),
    (
        "windows/process_creation/proc_creation_win_ntdsutil_usage.yml",
        "ecs.jsonl",
        "ecs",
        &[1],
    ),
    (
        "linux/process_creation/proc_creation_lnx_base64_decode.yml",
        "ecs.jsonl",
        "ecs",
        &[3],
    ),
];

#[test]
fn a_sigmahq_rule_of_every_log_source_fires_on_its_attack_and_not_on_the_benign() {
    let Some(shared) = shared() else { return };
    let rules = shared.join("data/sigma/rules");
    for (rule, input, format, want) in CASES {
        let (got, read_as) = fired(&[rules.join(rule)], &fixture(input));
        assert_eq!(&read_as, format, "{input}");
        assert_eq!(&got, want, "{rule} on {input}");
    }
}

#[test]
fn cloudtrail_files_as_delivered_to_s3_are_gzipped() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gz = dir
        .path()
        .join("111122223333_CloudTrail_eu-west-2_20240409T0215Z_x.json.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    std::io::Write::write_all(
        &mut enc,
        &std::fs::read(fixture("cloudtrail.json")).unwrap(),
    )
    .unwrap();
    enc.finish().unwrap();
    let rule =
        shared.join("data/sigma/rules/cloud/aws/cloudtrail/aws_cloudtrail_pua_trufflehog.yml");
    assert_eq!(fired(&[rule], &gz), (vec![2], "cloudtrail".to_string()));
}

#[test]
fn servicenow_records_run_rules_of_dwells_own_log_source() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("mfa_reset.yml");
    std::fs::write(
        &rule,
        "title: MFA reset by the service desk\nid: 5b0c8f4e-4f57-4a8e-9a35-0c8b5e1f2a11\nstatus: test\n\
         logsource: {product: servicenow, service: incident}\n\
         detection:\n  selection: {subcategory: MFA Reset, contact_type: phone}\n  condition: selection\nlevel: medium\n",
    )
    .unwrap();
    assert_eq!(
        fired(&[rule], &fixture("servicenow.jsonl")),
        (vec![1], "servicenow".to_string())
    );
}

#[test]
fn the_esxi_host_logs_are_read_whole() {
    for (name, events) in [
        ("esxi-hostd.log", 3),
        ("esxi-auth.log", 2),
        ("esxi-vobd.log", 2),
        ("esxi-shell.log", 4),
    ] {
        let (found, _) = discover(&[fixture(name)]);
        let mut feed = dwell_ingest::Gather::default();
        dwell_ingest::Source::run(&mut FileSource::new(found, Registry::builtin()), &mut feed);
        assert!(
            feed.problems.is_empty() && feed.failures.is_empty(),
            "{name}"
        );
        let mut n = 0;
        let mut decoder = dwell_ingest::Decoder::default();
        for b in &feed.batches {
            decoder.decode(
                b,
                &mut |ev| {
                    n += 1;
                    assert!(ev.timestamp.is_some(), "{name}: an event without a time");
                },
                &mut |p| panic!("{name}: {p:?}"),
            );
        }
        assert_eq!(n, events, "{name}");
    }
}

/// SigmaHQ's rules (macOS aside, which no log dwell reads covers) whose log source dwell
/// reads: at least 95%, and the rest listed by log source.
#[test]
fn nearly_every_sigmahq_rule_has_a_log_source_dwell_reads() {
    let Some(shared) = shared() else { return };
    let registry = Registry::builtin();
    let set = dwell_sigma::load_paths(&[shared.join("data/sigma/rules")], &Default::default());
    let mapping = Mapping::from_texts(&registry.mappings()).unwrap();
    let total = set.rules.len();
    let macos = set
        .rules
        .iter()
        .filter(|r| r.logsource.product.as_deref() == Some("macos"))
        .count();
    let detector = Detector::build(
        Selection::default().apply(set.rules, set.correlations),
        &mapping,
    );
    let mut left: BTreeMap<String, usize> = BTreeMap::new();
    for u in &detector.unmapped {
        // "no log-source mapping for product=x service=y: ..."
        let ls = u
            .reason
            .split(" for ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .unwrap_or("");
        if !ls.contains("product=macos") {
            *left.entry(ls.to_string()).or_default() += 1;
        }
    }
    let unread: usize = left.values().sum();
    let share = 1.0 - unread as f64 / (total - macos) as f64;
    println!(
        "{:.1}% of {} rules; not read: {left:?}",
        share * 100.0,
        total - macos
    );
    assert!(share >= 0.95, "{:.1}%: {left:?}", share * 100.0);
}
