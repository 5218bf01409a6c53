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
    "windows/proc_creation_win_teleport.yml",
    "windows/win_security_privileged_group_member_added.yml",
    "database/pgaudit_bulk_export_personal_data.yml",
    "database/pgaudit_bulk_read_personal_data.yml",
    "proxy/proxy_upload_file_sharing_or_relay.yml",
    "proxy/proxy_egress_volume_file_sharing_or_relay.yml",
    "linux/sshd_root_login.yml",
    "esxi/esxi_ssh_enabled.yml",
    "esxi/esxi_exec_installed_only_disabled.yml",
    "esxi/esxi_vms_forced_off.yml",
    "esxi/esxi_snapshots_removed.yml",
    "esxi/esxi_foreign_binary_run.yml",
    "esxi/esxi_kill_chain.yml",
];

/// The name outputs give a built-in rule file.
pub fn display_path(b: &Builtin) -> String {
    format!("builtin/{}", b.path)
}
