//! The `process_*` families every Prometheus client library exports, read from `/proc` at
//! each scrape: CPU time, resident memory, open file descriptors and start time, under the
//! names operators' dashboards and alerts already use.

use std::fmt::Write;

/// Appends the process families to `body`; on a system without `/proc`, nothing.
pub(super) fn render(body: &mut String) {
    let Some(stat) = Stat::read() else { return };
    let ticks = ticks_per_second();
    let mut family = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = write!(
            body,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n"
        );
    };
    family(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        (stat.user_ticks + stat.system_ticks) as f64 / ticks,
    );
    if let Some(bytes) = resident_bytes() {
        family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            bytes as f64,
        );
    }
    if let Some(open) = open_fds() {
        family(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            open as f64,
        );
    }
    if let Some(boot) = boot_time() {
        family(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            boot as f64 + stat.start_ticks as f64 / ticks,
        );
    }
}

/// The fields of `/proc/self/stat` used here, in clock ticks.
struct Stat {
    user_ticks: u64,
    system_ticks: u64,
    /// Since the system booted.
    start_ticks: u64,
}

impl Stat {
    fn read() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&text)
    }

    /// The command name, second field, is in parentheses and may hold spaces and
    /// parentheses itself: fields are counted from the last `)`.
    fn parse(text: &str) -> Option<Self> {
        let after_name = &text[text.rfind(')')? + 1..];
        // Field 3 (state) is the first one after the name.
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse().ok();
        Some(Self {
            user_ticks: field(14)?,
            system_ticks: field(15)?,
            start_ticks: field(22)?,
        })
    }
}

fn ticks_per_second() -> f64 {
    // Linux reports /proc times in USER_HZ, which is 100 wherever sysconf cannot say.
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |ticks| ticks as f64)
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// When the system booted, in seconds since the Unix epoch.
fn boot_time() -> Option<u64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_from_the_end_of_the_command_name() {
        let line = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 \
                    250 50 0 0 20 0 8 0 123456 1000000 300 18446744073709551615";
        let stat = Stat::parse(line).expect("the line parses");
        assert_eq!(stat.user_ticks, 250);
        assert_eq!(stat.system_ticks, 50);
        assert_eq!(stat.start_ticks, 123456);
    }

    #[test]
    fn this_process_has_every_family() {
        let mut body = String::new();
        render(&mut body);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(body.contains(&format!("# TYPE {name} ")), "{name}: {body}");
            let value: f64 = body
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{name} ")))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("no value for {name}: {body}"));
            // A young process may not have used a whole clock tick of CPU yet.
            let least = if name == "process_cpu_seconds_total" {
                0.0
            } else {
                1.0
            };
            assert!(value >= least, "{name} is {value}");
        }
    }
}
