//! Where a point's CPU went: each process of the target (and the load generator) thread by
//! thread, from `/proc/PID/task/TID/stat` read before and after the measured window, summed
//! per thread name and divided by the messages the window counted. On a machine where the
//! load, a master and its slaves share the cores, this tells a stage's own cost from the
//! throughput the others leave it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One thread name of one process: its CPU per message over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadCpu {
    /// `target` (the process the target's address belongs to), `load` (this benchmark's load
    /// generator), or `child<N>-<name>` (the target's other processes: a slave, a NameServer, a
    /// controller), numbered in the order they were started.
    pub process: String,
    /// The thread name (`/proc/…/comm`); threads of one name are summed.
    pub thread: String,
    /// User + system CPU µs per counted message.
    pub us_per_msg: f64,
}

/// CPU ticks by (process label, thread name).
pub type Snapshot = BTreeMap<(String, String), u64>;

/// Reads the ticks of every thread of every `(label, pid)`; a process that is gone counts 0.
pub fn snapshot(processes: &[(String, u32)]) -> Snapshot {
    let mut out = Snapshot::new();
    for (label, pid) in processes {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            if let Some((name, ticks)) = parse_stat(&stat) {
                *out.entry((label.clone(), name)).or_default() += ticks;
            }
        }
    }
    out
}

/// A `stat` line's thread (or process) name and its user + system ticks.
pub fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.get(open + 1..)?.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some((name, ticks(14)? + ticks(15)?))
}

/// The kernel's clock ticks per second (`stat`'s CPU unit).
pub fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// CPU per message between two snapshots, busiest first within each process; threads that
/// used nothing are left out.
pub fn per_msg(before: &Snapshot, after: &Snapshot, msgs: u64) -> Vec<ThreadCpu> {
    let hz = ticks_per_sec();
    let mut out: Vec<ThreadCpu> = after
        .iter()
        .filter_map(|(key, &t1)| {
            let used = t1.saturating_sub(before.get(key).copied().unwrap_or(0));
            (used > 0 && msgs > 0).then(|| ThreadCpu {
                process: key.0.clone(),
                thread: key.1.clone(),
                us_per_msg: used as f64 / hz * 1e6 / msgs as f64,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.process
            .cmp(&b.process)
            .then(b.us_per_msg.total_cmp(&a.us_per_msg))
    });
    out
}

/// One line per process: its total and its threads, e.g.
/// `target 12.4 µs/msg: sluice-io 9.4, sluice-core 1.4, …`.
pub fn describe(cpu: &[ThreadCpu]) -> Vec<String> {
    let mut by_process: BTreeMap<&str, Vec<&ThreadCpu>> = BTreeMap::new();
    for t in cpu {
        by_process.entry(&t.process).or_default().push(t);
    }
    by_process
        .into_iter()
        .map(|(process, threads)| {
            let total: f64 = threads.iter().map(|t| t.us_per_msg).sum();
            let parts: Vec<String> = threads
                .iter()
                .map(|t| format!("{} {:.1}", t.thread, t.us_per_msg))
                .collect();
            format!("{process} {total:.1} µs/msg: {}", parts.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_thread_name_and_cpu_ticks() {
        // A thread name may hold spaces and parentheses; utime 120, stime 30.
        let line = "4242 (sluice-io (2)) S 1 4242 4242 0 -1 4194368 900 0 0 0 120 30 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat(line), Some(("sluice-io (2)".to_owned(), 150)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn cpu_per_message_is_the_difference_divided_by_the_messages() {
        let key = |p: &str, t: &str| (p.to_owned(), t.to_owned());
        let before = Snapshot::from([(key("target", "io"), 100), (key("target", "core"), 10)]);
        let after = Snapshot::from([
            (key("target", "io"), 300),
            (key("target", "core"), 10),
            (key("load", "bench-load"), 50),
        ]);
        let hz = ticks_per_sec();
        let cpu = per_msg(&before, &after, 1000);
        let names: Vec<(&str, &str)> = cpu
            .iter()
            .map(|t| (t.process.as_str(), t.thread.as_str()))
            .collect();
        assert_eq!(names, [("load", "bench-load"), ("target", "io")]);
        assert!((cpu[1].us_per_msg - 200.0 / hz * 1e6 / 1000.0).abs() < 1e-9);
        let lines = describe(&cpu);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].starts_with("target "), "{lines:?}");
    }

    #[test]
    fn this_process_has_a_thread_that_used_cpu() {
        let me = [("me".to_owned(), std::process::id())];
        let before = snapshot(&me);
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(200) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = snapshot(&me);
        assert!(!per_msg(&before, &after, 1).is_empty());
    }
}
