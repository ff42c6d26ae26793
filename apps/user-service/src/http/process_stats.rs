//! Process memory and CPU, read from `/proc/self` (Linux). Elsewhere the figures are absent
//! rather than invented.

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// Resident set size in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size in bytes.
    pub virtual_memory_bytes: u64,
    /// User + system CPU time in seconds.
    pub cpu_seconds: f64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors.
    pub open_fds: u64,
}

/// Clock ticks per second of `/proc/self/stat` CPU times (`USER_HZ`, 100 on Linux ABIs).
const USER_HZ: f64 = 100.0;

/// Reads the current figures, or `None` where `/proc` is not available.
pub fn read() -> Option<ProcessStats> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = |key: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) / USER_HZ;
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    Some(ProcessStats {
        resident_memory_bytes: kb("VmRSS:")? * 1024,
        virtual_memory_bytes: kb("VmSize:")? * 1024,
        cpu_seconds,
        threads: kb("Threads:")?,
        open_fds,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_plausible_figures_on_linux() {
        let Some(stats) = super::read() else {
            return; // not Linux
        };
        assert!(stats.resident_memory_bytes > 1024 * 1024, "{stats:?}");
        assert!(stats.virtual_memory_bytes >= stats.resident_memory_bytes);
        assert!(stats.threads >= 1);
        assert!(stats.open_fds >= 3, "stdin, stdout, stderr at least");
        // Burn a little CPU and see the counter move.
        let before = stats.cpu_seconds;
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i ^ (x >> 3));
        }
        std::hint::black_box(x);
        let after = super::read().map_or(0.0, |s| s.cpu_seconds);
        assert!(after > before, "cpu time went from {before} to {after}");
    }
}
