//! The standard `process_*` metrics, read without `/proc/stat`: the shipped systemd unit's
//! `ProcSubset=pid` hides it, and the `prometheus` crate's process collector then reports a start
//! time of 0. CPU time comes from `getrusage` (microseconds, so the CPU panel is not a staircase
//! of whole seconds), the start time from the clock when the process began, memory from
//! `/proc/self/statm`, threads from `/proc/self/stat` and descriptors from `/proc/self/fd`, all
//! inside the process' own `/proc/self`.

use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::SystemTime;

use prometheus::{Counter, Gauge, Registry};

/// When the process started: set by [`mark_start`] at the top of `main`, else when first read.
static START: LazyLock<SystemTime> = LazyLock::new(SystemTime::now);

/// Record the process' start time now (call first thing in `main`).
pub fn mark_start() {
    LazyLock::force(&START);
}

/// The `process_*` metrics, refreshed on every scrape.
pub(super) struct ProcessMetrics {
    cpu: Counter,
    /// The CPU seconds already added to `cpu` (a counter only goes up by increments).
    cpu_seen: Mutex<f64>,
    resident: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    threads: Gauge,
}

impl ProcessMetrics {
    pub(super) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| -> Result<Gauge, prometheus::Error> {
            let g = Gauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let start = gauge(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
        )?;
        start.set(
            START
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        );
        let cpu = Counter::new(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
        )?;
        registry.register(Box::new(cpu.clone()))?;
        let metrics = Self {
            cpu,
            cpu_seen: Mutex::new(0.0),
            resident: gauge("process_resident_memory_bytes", "Resident memory size in bytes.")?,
            virtual_memory: gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")?,
            open_fds: gauge("process_open_fds", "Number of open file descriptors.")?,
            max_fds: gauge("process_max_fds", "Maximum number of open file descriptors.")?,
            threads: gauge("process_threads", "Number of OS threads in the process.")?,
        };
        metrics.refresh();
        Ok(metrics)
    }

    /// Read the current figures; a figure that cannot be read keeps its last value.
    pub(super) fn refresh(&self) {
        if let Some(total) = cpu_seconds() {
            // Only held to compute the increment; a poisoned value is still a number.
            let mut seen = self.cpu_seen.lock().unwrap_or_else(PoisonError::into_inner);
            if total > *seen {
                self.cpu.inc_by(total - *seen);
                *seen = total;
            }
        }
        if let Some((size, resident)) = statm() {
            let page = page_size();
            self.virtual_memory.set(size * page);
            self.resident.set(resident * page);
        }
        if let Some(n) = open_fds() {
            self.open_fds.set(n as f64);
        }
        if let Some(n) = max_fds() {
            self.max_fds.set(n);
        }
        if let Some(n) = threads() {
            self.threads.set(n);
        }
    }
}

/// User + system CPU time of the whole process.
#[cfg(unix)]
fn cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage only writes into the zero-initialised struct we pass it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

#[cfg(not(unix))]
fn cpu_seconds() -> Option<f64> {
    None
}

#[cfg(unix)]
fn page_size() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as f64 } else { 4096.0 }
}

#[cfg(not(unix))]
fn page_size() -> f64 {
    4096.0
}

/// Virtual and resident size in pages.
fn statm() -> Option<(f64, f64)> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some((fields.next()??, fields.next()??))
}

fn open_fds() -> Option<usize> {
    // The count includes the descriptor of the directory being read; subtract it.
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count().saturating_sub(1))
}

#[cfg(unix)]
fn max_fds() -> Option<f64> {
    // SAFETY: getrlimit only writes into the zero-initialised struct we pass it.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (rc == 0).then_some(limit.rlim_cur as f64)
}

#[cfg(not(unix))]
fn max_fds() -> Option<f64> {
    None
}

/// Field 20 of `/proc/self/stat`, counted after the command name, which may hold spaces.
fn threads() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &text[text.rfind(')')? + 1..];
    // After the name: state (field 3) ... num_threads (field 20), so index 17.
    after_name.split_whitespace().nth(17)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_counter_has_fractions_of_a_second() {
        let registry = Registry::new();
        let metrics = ProcessMetrics::register(&registry).unwrap();
        // Burn a little CPU so that the counter is above zero but far below a whole second.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        metrics.refresh();
        let cpu = metrics.cpu.get();
        assert!(cpu > 0.0, "{cpu}");
        assert!(cpu.fract() != 0.0, "{cpu} has a fractional part");
    }

    #[test]
    fn the_start_time_is_known_without_proc_stat() {
        let registry = Registry::new();
        let _metrics = ProcessMetrics::register(&registry).unwrap();
        let families = registry.gather();
        let start = families
            .iter()
            .find(|f| f.name() == "process_start_time_seconds")
            .map(|f| f.get_metric()[0].get_gauge().get_value())
            .unwrap();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(start > 1.0e9 && start <= now, "{start}");
    }
}
