//! The cost of a series: the exporter against nginx serving the same bytes, side by side, and one
//! exporter binary against another ("before" and "after") in the same run.
//!
//! Run it through `scripts/bench.sh`, which installs nginx when it is missing, builds the
//! "before" binary from a git revision and passes everything here:
//!
//! ```text
//! cargo bench --bench cost -- --nginx /usr/sbin/nginx [--before PATH] [--customers 10000,20000]
//!     [--runs 3] [--rounds 3] [--requests 15] [--concurrent 50] [--write docs/benchmarks.md]
//! ```
//!
//! For each binary and customer count it starts `partnercenter-exporter simulate` (always the
//! "after" binary's, so both exporters see the same upstream) and the exporter as separate
//! processes, and measures, from outside, what the project's targets are about:
//!
//! - the bytes of the license series plus the info series in the plain exposition;
//! - collection CPU (user + system time of the exporter process for its first run) per value
//!   series, and the run's wall time;
//! - idle resident memory after the run, split into its anonymous part (heap, stacks) and its
//!   file-backed part (the executable's code, a fixed ~10 MiB whatever the customer count), and
//!   the live heap (glibc's `malloc_stats`, called through gdb) for comparison;
//! - both of these for `--runs` fresh exporter processes in turn against the same simulator: a
//!   single run's CPU varies by ±10 % on a shared machine, and its idle RSS now and then by a few
//!   MiB, so the table gives the median and every run's figure;
//! - plain and gzip scrapes, timed with a minimal HTTP/1.1 client, alternating with nginx
//!   serving the bytes the exporter served (plain, and `gzip_static` for the gzip body): the
//!   ratio of the medians, per round;
//! - resident memory sampled every 2 ms during sequential plain scrapes, and during
//!   `--concurrent` simultaneous plain scrapes (issue 8's bound: 2 × idle + 64 MiB).
//!
//! Every figure carries the load average when it was taken: the machine is shared. Timings stay
//! out of `cargo test`.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

/// Command-line options.
struct Options {
    nginx: PathBuf,
    before: Option<PathBuf>,
    after: PathBuf,
    customers: Vec<usize>,
    runs: usize,
    rounds: usize,
    requests: usize,
    concurrent: usize,
    write: Option<PathBuf>,
    labels: (String, String),
}

fn options() -> Result<Options, Error> {
    let mut o = Options {
        nginx: PathBuf::from("nginx"),
        before: None,
        after: PathBuf::from(env!("CARGO_BIN_EXE_partnercenter-exporter")),
        customers: vec![10_000, 20_000],
        runs: 3,
        rounds: 3,
        requests: 15,
        concurrent: 50,
        write: None,
        labels: ("before".into(), "after".into()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--nginx" => o.nginx = value()?.into(),
            "--before" => o.before = Some(value()?.into()),
            "--after" => o.after = value()?.into(),
            "--customers" => {
                o.customers = value()?
                    .split(',')
                    .map(|c| c.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--runs" => o.runs = value()?.parse::<usize>()?.max(1),
            "--rounds" => o.rounds = value()?.parse()?,
            "--requests" => o.requests = value()?.parse()?,
            "--concurrent" => o.concurrent = value()?.parse()?,
            "--write" => o.write = Some(value()?.into()),
            "--before-label" => o.labels.0 = value()?,
            "--after-label" => o.labels.1 = value()?,
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

// ----- processes -----

/// A child process killed when dropped, so that nothing outlives the benchmark.
struct Proc(Child);

/// A command whose process the kernel kills when the benchmark dies, however it dies (the `Drop`
/// of [`Proc`] covers the ordinary ends, this the rest: Ctrl-C, a kill).
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    use std::os::unix::process::CommandExt as _;
    let mut command = Command::new(program);
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of the parent;
    // it is all that runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    command
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(addr: SocketAddr, what: &str) -> Result<(), Error> {
    for _ in 0..600 {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{what} did not start listening on {addr}").into())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// VmRSS of a process, in bytes.
fn rss(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:") * 1024
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU time of a process.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name is in parentheses and may contain spaces: count fields after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// glibc's count of the bytes in use in the process's heap, asked for through gdb
/// (`malloc_stats` prints it on the process's standard error).
fn live_heap(pid: u32, stderr_log: &Path) -> Option<u64> {
    let before = std::fs::read_to_string(stderr_log).ok()?.len();
    // Not checked for success: on some virtual machines gdb prints "Couldn't write extended state
    // status: Bad address" when it detaches and exits 1 after the call has run and printed. The
    // figure is taken only if malloc_stats' own lines appear in the exporter's log below.
    Command::new("timeout")
        .args([
            "60",
            "gdb",
            "-p",
            &pid.to_string(),
            "-batch",
            "-ex",
            "call (void) malloc_stats()",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    std::thread::sleep(Duration::from_millis(200));
    let log = std::fs::read_to_string(stderr_log).ok()?;
    let tail = log.get(before..)?;
    let total = tail.split("Total (incl. mmap):").nth(1)?;
    total
        .lines()
        .find(|l| l.trim_start().starts_with("in use bytes"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().parse().ok())
}

// ----- HTTP -----

/// One GET on a new connection, the body read and counted (kept if `keep`). Returns the time to
/// the last byte, the body and the response headers.
fn get(
    addr: SocketAddr,
    path: &str,
    gzip: bool,
    keep: bool,
) -> Result<(Duration, Vec<u8>, usize, String), Error> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let encoding = if gzip { "gzip" } else { "identity" };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut body = Vec::new();
    let mut received = 0usize;
    let header_end;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(format!("{addr}{path}: connection closed in the headers").into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            header_end = i + 4;
            break;
        }
    }
    let headers = String::from_utf8_lossy(&head[..header_end]).into_owned();
    let rest = &head[header_end..];
    received += rest.len();
    if keep {
        body.extend_from_slice(rest);
    }
    let length: Option<usize> = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok());
    loop {
        if length.is_some_and(|l| received >= l) {
            break;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        received += n;
        if keep {
            body.extend_from_slice(&buf[..n]);
        }
    }
    if !headers.starts_with("HTTP/1.1 200") {
        return Err(format!("{addr}{path}: {}", headers.lines().next().unwrap_or_default()).into());
    }
    Ok((started.elapsed(), body, received, headers))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

// ----- nginx -----

struct Nginx {
    _proc: Proc,
    addr: SocketAddr,
    root: PathBuf,
}

impl Nginx {
    fn start(bin: &Path, dir: &Path) -> Result<Self, Error> {
        let root = dir.join("root");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&tmp)?;
        // With a master process the worker would run as another user; alone it does not, but
        // keep the files readable either way.
        for d in [dir, &root, &tmp] {
            std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        }
        let port = free_port()?;
        let t = tmp.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {t}/nginx.pid;\nerror_log {t}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {t};\n  proxy_temp_path {t};\n  fastcgi_temp_path {t};\n  uwsgi_temp_path {t};\n  scgi_temp_path {t};\n\
             \x20 sendfile on;\n  tcp_nopush on;\n  keepalive_timeout 0;\n  default_type text/plain;\n\
             \x20 server {{ listen 127.0.0.1:{port}; root {}; gzip_static on; }}\n}}\n",
            root.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = command(bin)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let nginx = Self {
            _proc: Proc(child),
            addr,
            root,
        };
        wait_listening(addr, "nginx")?;
        Ok(nginx)
    }

    /// Serve `plain` at `/name` and `gzip` as its `gzip_static` twin.
    fn publish(&self, name: &str, plain: &[u8], gzip: &[u8]) -> Result<(), Error> {
        let path = self.root.join(name);
        std::fs::write(&path, plain)?;
        std::fs::write(self.root.join(format!("{name}.gz")), gzip)?;
        for p in [path, self.root.join(format!("{name}.gz"))] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        }
        Ok(())
    }
}

// ----- one exporter -----

/// What was measured of one exporter binary at one customer count.
#[derive(Default, Clone)]
struct Figures {
    value_series: usize,
    license_bytes: usize,
    info_bytes: usize,
    plain_bytes: usize,
    gzip_bytes: usize,
    /// One per `--runs`, in order; the last one's exporter is the one scraped.
    runs: Vec<Run>,
    /// (exporter ms, nginx ms, load) per round.
    plain_rounds: Vec<(f64, f64, String)>,
    gzip_rounds: Vec<(f64, f64, String)>,
    plain_peak_rss: u64,
    concurrent_peak_rss: u64,
    concurrent_after_rss: u64,
}

/// The first collection run of one exporter process, and its memory once idle after it.
#[derive(Default, Clone)]
struct Run {
    cpu: Duration,
    wall: Duration,
    load: String,
    idle_rss: u64,
    /// The anonymous part of `idle_rss` (RssAnon): the heap, stacks and other private memory;
    /// the rest is file-backed, mostly the executable's and libc's code read from the page cache.
    idle_anon: u64,
    live_heap: Option<u64>,
}

impl Run {
    fn heap_ratio(&self) -> Option<f64> {
        self.live_heap.map(|h| self.idle_rss as f64 / h as f64)
    }
}

impl Figures {
    /// The idle resident size of the exporter that was scraped.
    fn scraped_idle_rss(&self) -> u64 {
        self.runs.last().map_or(0, |r| r.idle_rss)
    }

    /// The run of median CPU (the upper median of an even count).
    fn median_cpu(&self) -> Run {
        let mut runs = self.runs.clone();
        runs.sort_by_key(|r| r.cpu);
        runs.get(runs.len() / 2).cloned().unwrap_or_default()
    }

    /// The run of median idle RSS over live heap (without gdb: of median idle RSS).
    fn median_idle(&self) -> Run {
        let mut runs = self.runs.clone();
        runs.sort_by(|a, b| {
            let key = |r: &Run| r.heap_ratio().unwrap_or(r.idle_rss as f64);
            key(a).total_cmp(&key(b))
        });
        runs.get(runs.len() / 2).cloned().unwrap_or_default()
    }
}

/// The collectors measured: usage, deployment, partner-deployment, on by default in every version.
const DEFAULT_COLLECTORS: usize = 3;

/// The flags that turn off the collectors a version has on by default beyond the three measured
/// (since issue 10: subscriptions and subscribed SKUs, a request per customer each). Without them
/// the run's CPU would include part of their fan-outs, and the two versions would not do the same
/// work; a version that does not know a flag does not have the collector.
fn commercial_off(exporter: &Path) -> Result<Vec<String>, Error> {
    let help = Command::new(exporter).arg("--help").output()?;
    let help = String::from_utf8_lossy(&help.stdout);
    Ok(["collector.subscriptions", "collector.subscribed-skus"]
        .into_iter()
        .filter(|flag| help.contains(&format!("--{flag}")))
        .map(|flag| format!("--{flag}=false"))
        .collect())
}

const LICENSE_FAMILIES: [&str; 4] = [
    "partnercenter_licenses_active",
    "partnercenter_licenses_qualified",
    "partnercenter_licenses_deployed",
    "partnercenter_licenses_sold",
];
const VALUE_FAMILIES: [&str; 7] = [
    "partnercenter_licenses_active",
    "partnercenter_licenses_qualified",
    "partnercenter_licenses_deployed",
    "partnercenter_licenses_sold",
    "partnercenter_prorated_deployment_percent",
    "partnercenter_partner_licenses_sold",
    "partnercenter_prorated_licenses_usage_percent",
];

fn family(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .position(|&b| b == b'{' || b == b' ')
        .unwrap_or(line.len());
    &line[..end]
}

/// Start an exporter against the simulator at `base`, wait for its first run, and measure the
/// run's CPU and, 3 s later, the idle memory. The `n`th process of a measurement logs to its own
/// file, kept in `dir` for a look when a run fails.
fn first_run(exporter: &Path, dir: &Path, base: &str, n: usize) -> Result<(Proc, SocketAddr, Run), Error> {
    let port = free_port()?;
    let log = dir.join(format!("exporter-{n}.log"));
    let started = Instant::now();
    let child = command(exporter)
        .args([
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--partnercenter.url={base}"),
            format!("--auth.token-url={base}/{{tenant}}/oauth2/token"),
            "--auth.tenant-id=bench-partner".into(),
            "--auth.client-id=bench-app".into(),
            format!("--auth.client-secret-file={}", dir.join("secret").display()),
            format!("--auth.refresh-token-file={}", dir.join("refresh").display()),
            "--collector.interval=24h".into(),
            "--partnercenter.requests-per-minute=100000".into(),
            "--log.level=info".into(),
        ])
        .args(commercial_off(exporter)?)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let pid = child.id();
    let proc = Proc(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    // The first run starts at once; the end of each collector's part is logged ("collector
    // succeeded" or "collector failed", in every version so far).
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let finished = text
            .lines()
            .filter(|l| l.contains("collector succeeded") || l.contains("collector failed"))
            .count();
        if finished >= DEFAULT_COLLECTORS {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{}: no run finished; log:\n{text}", exporter.display()).into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut run = Run {
        wall: started.elapsed(),
        cpu: cpu(pid),
        load: load(),
        ..Run::default()
    };
    let failed = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("collector failed"))
        .count();
    if failed > 0 {
        return Err(format!(
            "{}: {failed} collectors failed, see {}",
            exporter.display(),
            log.display()
        )
        .into());
    }
    std::thread::sleep(Duration::from_secs(3));
    run.idle_rss = rss(pid);
    run.idle_anon = status_kib(pid, "RssAnon:") * 1024;
    run.live_heap = live_heap(pid, &log);
    Ok((proc, addr, run))
}

/// Start the simulator and the exporter, wait for the first run, and measure.
fn measure(
    o: &Options,
    exporter: &Path,
    customers: usize,
    nginx: &Nginx,
    tag: &str,
) -> Result<Figures, Error> {
    let dir = tempfile::tempdir()?;
    let sim_port = free_port()?;
    let sim = Proc(
        command(&o.after)
            .args([
                "simulate",
                &format!("--listen-address=127.0.0.1:{sim_port}"),
                &format!("--customers={customers}"),
                "--tenant-id=bench-partner",
                "--client-id=bench-app",
                "--client-secret=bench-secret",
                "--refresh-token=bench-refresh-token",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_listening(format!("127.0.0.1:{sim_port}").parse()?, "the simulator")?;
    // The simulator builds its partner lazily on the first request: do that now, so that it is
    // not counted in the exporter's run.
    let _ = get(
        format!("127.0.0.1:{sim_port}").parse()?,
        "/admin/state",
        false,
        false,
    );
    std::fs::write(dir.path().join("secret"), "bench-secret")?;
    std::fs::write(dir.path().join("refresh"), "bench-refresh-token")?;
    let base = format!("http://127.0.0.1:{sim_port}");
    let mut f = Figures::default();
    let mut scraped = None;
    for n in 0..o.runs {
        let (proc, addr, run) = first_run(exporter, dir.path(), &base, n)?;
        f.runs.push(run);
        // Each earlier process is killed (dropped) here; the last one stays to be scraped.
        scraped = Some((proc, addr));
    }
    let Some((exporter_proc, addr)) = scraped else {
        return Err("--runs must be at least 1".into());
    };
    let pid = exporter_proc.0.id();

    // The bytes the exporter serves, for nginx to serve too.
    let (_, plain, _, _) = get(addr, "/metrics", false, true)?;
    let (_, gzip, _, gzip_headers) = get(addr, "/metrics", true, true)?;
    if !gzip_headers
        .to_ascii_lowercase()
        .contains("content-encoding: gzip")
    {
        return Err("the exporter did not answer with gzip".into());
    }
    f.plain_bytes = plain.len();
    f.gzip_bytes = gzip.len();
    for line in plain.split(|&b| b == b'\n') {
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let name = family(line);
        if LICENSE_FAMILIES.iter().any(|f| f.as_bytes() == name) {
            f.license_bytes += line.len() + 1;
        } else if name.starts_with(b"partnercenter_")
            && name.ends_with(b"_info")
            && name != b"partnercenter_build_info"
        {
            f.info_bytes += line.len() + 1;
        }
        if VALUE_FAMILIES.iter().any(|f| f.as_bytes() == name) {
            f.value_series += 1;
        }
    }
    let name = format!("{tag}-{customers}");
    nginx.publish(&name, &plain, &gzip)?;
    let nginx_path = format!("/{name}");
    let (_, _, n_plain, _) = get(nginx.addr, &nginx_path, false, false)?;
    let (_, _, n_gzip, n_headers) = get(nginx.addr, &nginx_path, true, false)?;
    if n_plain != plain.len()
        || n_gzip != gzip.len()
        || !n_headers.to_ascii_lowercase().contains("content-encoding: gzip")
    {
        return Err(format!(
            "nginx does not serve the same bytes ({n_plain}/{} plain, {n_gzip}/{} gzip)",
            plain.len(),
            gzip.len()
        )
        .into());
    }
    drop(plain);
    drop(gzip);

    // Resident memory, sampled while the scrapes run.
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    for round in 0..o.rounds {
        for gzip in [false, true] {
            // Warm both, then alternate: the same load falls on each.
            get(addr, "/metrics", gzip, false)?;
            get(nginx.addr, &nginx_path, gzip, false)?;
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..o.requests {
                ours.push(get(addr, "/metrics", gzip, false)?.0.as_secs_f64() * 1e3);
                theirs.push(get(nginx.addr, &nginx_path, gzip, false)?.0.as_secs_f64() * 1e3);
            }
            let entry = (median(ours), median(theirs), load());
            if gzip {
                f.gzip_rounds.push(entry);
            } else {
                f.plain_rounds.push(entry);
            }
        }
        eprintln!("  round {} of {}: load {}", round + 1, o.rounds, load());
    }
    f.plain_peak_rss = peak.swap(0, Ordering::Relaxed);

    // Many plain scrapes at once.
    let threads: Vec<_> = (0..o.concurrent)
        .map(|_| {
            std::thread::spawn(move || {
                get(addr, "/metrics", false, false)
                    .map(|r| r.2)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    f.concurrent_peak_rss = peak.load(Ordering::Relaxed);
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    std::thread::sleep(Duration::from_secs(2));
    f.concurrent_after_rss = rss(pid);
    drop(exporter_proc);
    drop(sim);
    Ok(f)
}

// ----- report -----

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn ratios(rounds: &[(f64, f64, String)]) -> String {
    rounds
        .iter()
        .map(|(a, b, l)| format!("{a:.1}/{b:.1} ms = {:.2}× (load {l})", a / b))
        .collect::<Vec<_>>()
        .join("; ")
}

fn median_ratio(rounds: &[(f64, f64, String)]) -> f64 {
    median(rounds.iter().map(|(a, b, _)| a / b).collect())
}

fn report(o: &Options, results: &[(usize, Option<Figures>, Figures)], base_bytes: Option<usize>) -> String {
    let (bl, al) = &o.labels;
    let mut out = String::new();
    let _ = writeln!(out, "| target | customers | {bl} | {al} | goal |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let cell = |f: &Option<Figures>, g: &dyn Fn(&Figures) -> String| f.as_ref().map_or("—".to_owned(), g);
    for (customers, before, after) in results {
        let b = before;
        let a = after;
        let baseline = base_bytes.or(b.as_ref().map(|b| b.license_bytes));
        let after_bytes = format!(
            "{} + {}{}",
            a.license_bytes,
            a.info_bytes,
            baseline.map_or(String::new(), |base| format!(
                " = {:.1} %",
                100.0 * (a.license_bytes + a.info_bytes) as f64 / base as f64
            ))
        );
        let _ = writeln!(
            out,
            "| license + info series, plain bytes | {customers} | {} | {after_bytes} | ≤ 72 % of {} |",
            cell(b, &|f| format!("{} + {}", f.license_bytes, f.info_bytes)),
            baseline.map_or("the before figure".to_owned(), |b| b.to_string()),
        );
        let _ = writeln!(
            out,
            "| whole exposition, plain / gzip | {customers} | {} | {} / {} | |",
            cell(b, &|f| format!("{} / {}", f.plain_bytes, f.gzip_bytes)),
            a.plain_bytes,
            a.gzip_bytes,
        );
        let per = |f: &Figures| {
            let us = |r: &Run| r.cpu.as_secs_f64() * 1e6 / f.value_series.max(1) as f64;
            let m = f.median_cpu();
            let all = f.runs.iter().map(|r| format!("{:.2}", us(r))).collect::<Vec<_>>();
            format!(
                "{:.2} µs/series (median of {} runs: {}; {:.2} s CPU, {} value series, run {:.1} s, load {})",
                us(&m),
                f.runs.len(),
                all.join(", "),
                m.cpu.as_secs_f64(),
                f.value_series,
                m.wall.as_secs_f64(),
                m.load
            )
        };
        let _ = writeln!(
            out,
            "| collection CPU per value series | {customers} | {} | {} | ≤ 1.5 µs |",
            cell(b, &per),
            per(a)
        );
        let plain = |f: &Figures| {
            format!(
                "{:.2}× ({})",
                median_ratio(&f.plain_rounds),
                ratios(&f.plain_rounds)
            )
        };
        let _ = writeln!(
            out,
            "| plain scrape ÷ nginx (medians) | {customers} | {} | {} | ≤ 1.5× |",
            cell(b, &plain),
            plain(a)
        );
        let gz = |f: &Figures| {
            format!(
                "{:.2}× ({})",
                median_ratio(&f.gzip_rounds),
                ratios(&f.gzip_rounds)
            )
        };
        let _ = writeln!(
            out,
            "| gzip scrape ÷ nginx gzip_static (medians) | {customers} | {} | {} | ≤ 1.3× |",
            cell(b, &gz),
            gz(a)
        );
        let peak = |f: &Figures| {
            format!(
                "{} → {} (+{})",
                mib(f.scraped_idle_rss()),
                mib(f.plain_peak_rss),
                mib(f.plain_peak_rss.saturating_sub(f.scraped_idle_rss()))
            )
        };
        let _ = writeln!(
            out,
            "| RSS idle → peak during plain scrapes | {customers} | {} | {} | unchanged |",
            cell(b, &peak),
            peak(a)
        );
        let heap = |f: &Figures| {
            let m = f.median_idle();
            let all = f
                .runs
                .iter()
                .map(|r| {
                    r.heap_ratio()
                        .map_or_else(|| mib(r.idle_rss), |x| format!("{x:.2}×"))
                })
                .collect::<Vec<_>>()
                .join(", ");
            match m.live_heap {
                Some(h) => format!(
                    "{} / {} = {:.2}× (median of {} runs: {all}; anonymous {} = {:.2}×, file-backed {})",
                    mib(m.idle_rss),
                    mib(h),
                    m.idle_rss as f64 / h as f64,
                    f.runs.len(),
                    mib(m.idle_anon),
                    m.idle_anon as f64 / h as f64,
                    mib(m.idle_rss.saturating_sub(m.idle_anon)),
                ),
                None => format!("{} / ? (no gdb; runs: {all})", mib(m.idle_rss)),
            }
        };
        let _ = writeln!(
            out,
            "| idle RSS / live heap after a run | {customers} | {} | {} | ≤ 2× |",
            cell(b, &heap),
            heap(a)
        );
        let conc = |f: &Figures| {
            let bound = 2 * f.scraped_idle_rss() + 64 * 1048576;
            format!(
                "peak {} (bound {}: {}), {} after",
                mib(f.concurrent_peak_rss),
                mib(bound),
                if f.concurrent_peak_rss <= bound {
                    "within"
                } else {
                    "over"
                },
                mib(f.concurrent_after_rss)
            )
        };
        let _ = writeln!(
            out,
            "| {} concurrent plain scrapes, RSS | {customers} | {} | {} | ≤ 2 × idle + 64 MiB |",
            o.concurrent,
            cell(b, &conc),
            conc(a)
        );
    }
    out
}

fn main() -> Result<(), Error> {
    let o = options()?;
    let work = tempfile::Builder::new().prefix("partnercenter-cost").tempdir()?;
    let nginx = Nginx::start(&o.nginx, work.path())?;
    let started_load = load();
    let mut results = Vec::new();
    for &customers in &o.customers {
        let before = match &o.before {
            Some(bin) => {
                eprintln!("{customers} customers, {}: {}", o.labels.0, bin.display());
                Some(measure(&o, bin, customers, &nginx, "before")?)
            }
            None => None,
        };
        eprintln!("{customers} customers, {}: {}", o.labels.1, o.after.display());
        let after = measure(&o, &o.after, customers, &nginx, "after")?;
        results.push((customers, before, after));
    }
    let table = report(&o, &results, None);
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let section = format!(
        "Measured {date} on {} cores; load average at the start {started_load}, at the end {}. \
         Each scrape figure is the median of {} requests, alternating exporter and nginx, in each of {} rounds.\n\n{table}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load(),
        o.requests,
        o.rounds,
    );
    println!("{section}");
    if let Some(path) = &o.write {
        write_section(path, &section)?;
        eprintln!("wrote the table into {}", path.display());
    }
    Ok(())
}

/// Replace the text between the benchmark markers of `path` with `section`.
fn write_section(path: &Path, section: &str) -> Result<(), Error> {
    const BEGIN: &str = "<!-- cost-bench:begin -->";
    const END: &str = "<!-- cost-bench:end -->";
    let text = std::fs::read_to_string(path)?;
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!("{} has no {BEGIN} … {END} markers", path.display()).into());
    };
    let mut out = String::with_capacity(text.len() + section.len());
    out.push_str(&text[..b + BEGIN.len()]);
    out.push('\n');
    out.push_str(section);
    out.push('\n');
    out.push_str(&text[e..]);
    std::fs::write(path, out)?;
    Ok(())
}
