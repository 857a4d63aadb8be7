//! Container labels and ownership (SPEC 4.2, 4.9): which csvagent process on which host owns
//! a container, and whether that process is still alive.

use std::collections::HashMap;

use indexmap::IndexMap;

/// Label keys.
pub(crate) const MANAGED: &str = "csvagent.managed";
pub(crate) const RUN_ID: &str = "csvagent.run_id";
pub(crate) const PID: &str = "csvagent.pid";
/// The owner's start time (clock ticks since boot, `/proc/<pid>/stat` field 22), so a reused
/// pid is not mistaken for the owner.
pub(crate) const PID_START: &str = "csvagent.pid_start";
pub(crate) const HOST: &str = "csvagent.host";
pub(crate) const STARTED_AT: &str = "csvagent.started_at";
pub(crate) const IMAGE: &str = "csvagent.image";

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `unknown`).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), if it exists and is not
/// a zombie.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 is index 19.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// The labels of a container owned by this process (SPEC 4.2).
pub(crate) fn labels(run_id: &str, image: &str) -> IndexMap<String, String> {
    let pid = std::process::id();
    let mut l = IndexMap::new();
    l.insert(MANAGED.to_string(), "1".to_string());
    l.insert(RUN_ID.to_string(), run_id.to_string());
    l.insert(PID.to_string(), pid.to_string());
    if let Some(start) = process_start(pid) {
        l.insert(PID_START.to_string(), start.to_string());
    }
    l.insert(HOST.to_string(), host_name());
    l.insert(
        STARTED_AT.to_string(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    l.insert(IMAGE.to_string(), image.to_string());
    l
}

/// Whether the owner recorded in `labels` is a live process on this host. Containers of other
/// hosts, and containers without a readable pid, count as live (never touched).
pub(crate) fn owner_alive(labels: &HashMap<String, String>, this_host: &str) -> bool {
    if labels.get(HOST).map(String::as_str) != Some(this_host) {
        return true;
    }
    let Some(pid) = labels.get(PID).and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    match process_start(pid) {
        None => false,
        Some(start) => match labels.get(PID_START).and_then(|s| s.parse::<u64>().ok()) {
            Some(recorded) => recorded == start,
            None => true,
        },
    }
}

/// Whether a container with these labels is an orphan: ours (`csvagent.managed=1`), of this
/// host, and its owner process is dead.
pub(crate) fn is_orphan(labels: &HashMap<String, String>, this_host: &str) -> bool {
    labels.get(MANAGED).map(String::as_str) == Some("1")
        && labels.get(HOST).map(String::as_str) == Some(this_host)
        && !owner_alive(labels, this_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_for(pid: u32, host: &str) -> HashMap<String, String> {
        HashMap::from([
            (MANAGED.to_string(), "1".to_string()),
            (PID.to_string(), pid.to_string()),
            (HOST.to_string(), host.to_string()),
        ])
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn a_dead_owner_on_this_host_makes_an_orphan() {
        let host = host_name();
        assert!(is_orphan(&labels_for(dead_pid(), &host), &host));
    }

    #[test]
    fn live_owners_other_hosts_and_unlabelled_containers_are_not_orphans() {
        let host = host_name();
        assert!(!is_orphan(&labels_for(std::process::id(), &host), &host));
        assert!(!is_orphan(&labels_for(dead_pid(), "another-host"), &host));
        assert!(!is_orphan(&HashMap::new(), &host));
    }

    #[test]
    fn a_reused_pid_with_another_start_time_is_dead() {
        let host = host_name();
        let mut l = labels_for(std::process::id(), &host);
        l.insert(PID_START.to_string(), "1".to_string());
        assert!(is_orphan(&l, &host));
        let own = labels("run", "img");
        let own: HashMap<String, String> = own.into_iter().collect();
        assert!(!is_orphan(&own, &host));
    }
}
