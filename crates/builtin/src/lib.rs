//! dwell's built-in Sigma rules: the detections of the attack chain that no public rule
//! provides (docs/builtin-rules.md), written in standard Sigma and shipped inside the binary so
//! that dwell detects out of the box. The files under `rules/` are the source; each is listed
//! here once, and a test checks that none is left out.

/// One built-in rule file.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its path under `rules/`, which is also how outputs name it (`builtin/<path>`).
    pub path: &'static str,
    /// Its YAML text.
    pub text: &'static str,
}

macro_rules! rules {
    ($($path:literal),* $(,)?) => {
        &[$(Builtin { path: $path, text: include_str!(concat!("../rules/", $path)) }),*]
    };
}

/// Every built-in rule file, by stage of the attack chain.
pub const RULES: &[Builtin] = rules![
    "service-desk/servicenow_mfa_reset_call.yml",
    "identity/okta_factor_reset_by_other.yml",
    "identity/okta_password_reset_by_other.yml",
    "identity/okta_session_new_device_or_network.yml",
    "identity/okta_helpdesk_takeover.yml",
    "identity/rmm_after_helpdesk_takeover.yml",
    "windows/win_security_first_rdp_to_host.yml",
    "windows/proc_creation_win_rmm_tool_installed.yml",
    "windows/proc_creation_win_teleport.yml",
    "windows/proc_creation_win_ad_recon.yml",
    "windows/win_security_kerberoast_rc4.yml",
    "windows/proc_creation_win_ntds_ifm_to_temp.yml",
    "windows/proc_creation_win_ntds_ifm_copy.yml",
    "windows/proc_creation_win_archive_with_password.yml",
    "windows/win_security_privileged_group_member_added.yml",
    "windows/win_security_first_logon_at_night.yml",
    "windows/win_system_remote_exec_service.yml",
    "windows/proc_creation_win_veeam_credentials_read.yml",
    "database/pgaudit_bulk_export_personal_data.yml",
    "database/pgaudit_bulk_read_personal_data.yml",
    "database/pgaudit_read_outside_baseline.yml",
    "proxy/proxy_upload_file_sharing_or_relay.yml",
    "proxy/proxy_egress_volume_file_sharing_or_relay.yml",
    "windows/proc_creation_win_rclone_to_cloud.yml",
    "linux/sshd_root_login.yml",
    "esxi/esxi_domain_account_login.yml",
    "esxi/privileged_member_then_esxi_login.yml",
    "esxi/esxi_ssh_enabled.yml",
    "esxi/esxi_exec_installed_only_disabled.yml",
    "esxi/esxi_vms_forced_off.yml",
    "esxi/esxi_snapshots_removed.yml",
    "esxi/esxi_foreign_binary_made_executable.yml",
    "esxi/esxi_foreign_binary_run.yml",
    "esxi/esxi_kill_chain.yml",
];

/// The name outputs give a built-in rule file.
pub fn display_path(b: &Builtin) -> String {
    format!("builtin/{}", b.path)
}

/// The `id` of the built-in rule or correlation named `name`.
pub fn id_of(name: &str) -> Option<&'static str> {
    RULES.iter().find_map(|b| {
        let field = |k: &str| {
            b.text
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::trim)
        };
        (field("name:") == Some(name))
            .then(|| field("id:"))
            .flatten()
    })
}
