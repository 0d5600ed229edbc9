//! `cleave compare`: the same workload on several topologies, side by side, in one run.
//!
//! Every topology is started at once, each from its own data directory, and the measured
//! load is cut into rounds that visit the topologies in turn, so that whatever else the
//! machine does hits them alike. Then each goes through the failure drill. Layout:
//! [`load`] generates the requests, [`procfs`] and [`scrape`] read CPU, memory and the
//! processes' own counters, [`audit`] reads back what the load left, [`drill`] kills
//! payments, [`report`] holds the figures and [`render`] prints and writes them.

pub mod audit;
pub mod drill;
pub mod load;
pub mod procfs;
pub mod render;
pub mod report;
pub mod scrape;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

use crate::launch::{LaunchOptions, Launched, Logs};
use crate::topology::Topology;
use load::{Mix, Op, Plan, Recording, Target};
use report::{
    Host, InternalReport, Latency, LoadReport, OperationReport, ProcessReport, Report, Settings,
    SettleReport, TopologyReport,
};
use runtime::module::Module;
use scrape::PeerTotals;

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// A topology to start and measure (monolith, microservices, or a grouping such as
    /// users+orders,payments); repeat to compare several. Default: monolith and
    /// microservices.
    #[arg(long = "topology", value_name = "TOPOLOGY")]
    pub topologies: Vec<String>,

    /// The URL of a deployment already running (compose, Kubernetes) to measure instead;
    /// repeat to compare several. Nothing is started or killed, so CPU, memory, internal
    /// calls and the failure drill are not measured.
    #[arg(long = "target", value_name = "URL", conflicts_with = "topologies")]
    pub targets: Vec<String>,

    /// Measured load per topology (such as 20s, 1m, 500ms), cut into --rounds slices.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Slices of the measured load; the topologies take turns, one slice each.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Concurrent clients (closed loop), or the cap on requests in flight with --rate.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,

    /// Send this many requests per second, whatever the answers (open loop), instead of
    /// as fast as the clients get answers; latency then counts from the intended send time.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// How long payments is down in the failure drill; 0s skips the drill.
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    pub drill: Duration,

    /// Unmeasured load before the measured rounds, per topology.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// Buyers created before the load; orders are spread over them.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,

    /// Where report.json, report.md and report.html are written.
    #[arg(long, default_value = "./cleave-report")]
    pub out: PathBuf,

    /// Where the started topologies keep their databases and logs. Default: a temporary
    /// directory, removed afterwards.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second"
        )),
    }
}

/// Parses `500ms`, `5s`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 5s or 2m"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit in {text:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is not a duration"))
}

/// One topology (or target) being measured.
struct Subject {
    name: String,
    launched: Option<Launched>,
    target: Arc<Target>,
    recording: Recording,
    cpu_secs: Vec<f64>,
    peers_before: PeerTotals,
    report: Option<TopologyReport>,
}

/// Runs the comparison of `args` on the modules of `registry`.
pub async fn run(args: CompareArgs, registry: &'static [&'static Module]) -> anyhow::Result<()> {
    let started_at = Utc::now();
    let started = Instant::now();
    let scratch = match &args.data_dir {
        Some(dir) => Scratch::Kept(dir.clone()),
        None => Scratch::Temp(tempfile::tempdir().context("creating a temporary data directory")?),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(args.concurrency as usize)
        .tcp_nodelay(true)
        .build()?;
    let plan = Plan {
        mix: Mix::default(),
        concurrency: args.concurrency as usize,
        rate: args.rate,
        duration: args.duration / args.rounds,
    };
    let progress = Progress::new(
        &args,
        if args.targets.is_empty() {
            args.topologies.len().max(2)
        } else {
            args.targets.len()
        },
    );

    progress.phase("starting");
    let mut subjects = start(&args, registry, &scratch, &http).await?;

    progress.phase("warming up");
    for subject in &subjects {
        load::run(
            &subject.target,
            Plan {
                duration: args.warmup,
                ..plan
            },
            None,
        )
        .await;
    }
    for subject in &mut subjects {
        subject.peers_before = peer_totals(&http, subject.launched.as_ref()).await;
    }
    for round in 1..=args.rounds {
        for subject in &mut subjects {
            progress.phase(&format!("round {round}/{}: {}", args.rounds, subject.name));
            let before = cpu(subject.launched.as_ref());
            let recording = load::run(&subject.target, plan, None).await;
            for (total, (after, before)) in subject
                .cpu_secs
                .iter_mut()
                .zip(cpu(subject.launched.as_ref()).iter().zip(&before))
            {
                *total += after - before;
            }
            subject.recording.merge(recording);
        }
    }

    for subject in &mut subjects {
        progress.phase(&format!("reading back {}", subject.name));
        subject.report = Some(measure(subject, &http).await?);
    }

    if !args.drill.is_zero() {
        for subject in &mut subjects {
            let Some(launched) = subject.launched.as_mut() else {
                continue;
            };
            progress.phase(&format!("failure drill: {}", subject.name));
            let drill_plan = Plan {
                concurrency: plan.concurrency.min(8),
                ..plan
            };
            let drill = drill::run(launched, &http, drill_plan, args.drill).await?;
            if let Some(report) = subject.report.as_mut() {
                report.drill = Some(drill);
            }
        }
    }

    progress.phase("stopping");
    let mut topologies = Vec::new();
    for subject in subjects {
        if let Some(launched) = subject.launched {
            launched.stop().await;
        }
        topologies.extend(subject.report);
    }
    progress.finish();

    let report = Report {
        started_at,
        elapsed_secs: started.elapsed().as_secs_f64(),
        host: Host {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            cleave_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        settings: Settings {
            mode: if args.rate.is_some() {
                "open"
            } else {
                "closed"
            }
            .to_owned(),
            concurrency: args.concurrency as usize,
            rate: args.rate,
            duration_secs: args.duration.as_secs_f64(),
            rounds: args.rounds as usize,
            drill_secs: args.drill.as_secs_f64(),
            mix: plan.mix.as_map(),
        },
        topologies,
    };
    println!("{}", render::terminal_table(&report));
    for path in render::write_all(&report, &args.out)? {
        println!("wrote {}", path.display());
    }
    if let Scratch::Kept(dir) = scratch {
        println!("databases and logs kept in {}", dir.display());
    }
    Ok(())
}

/// The directory the topologies run in.
enum Scratch {
    Kept(PathBuf),
    Temp(tempfile::TempDir),
}

impl Scratch {
    fn path(&self) -> &std::path::Path {
        match self {
            Scratch::Kept(dir) => dir,
            Scratch::Temp(dir) => dir.path(),
        }
    }
}

async fn start(
    args: &CompareArgs,
    registry: &[&Module],
    scratch: &Scratch,
    http: &reqwest::Client,
) -> anyhow::Result<Vec<Subject>> {
    let mut subjects = Vec::new();
    if !args.targets.is_empty() {
        for url in &args.targets {
            let target = Target::prepare(http.clone(), url, args.users as usize).await?;
            subjects.push(subject(url.clone(), None, target));
        }
        return Ok(subjects);
    }
    let specs = if args.topologies.is_empty() {
        vec!["monolith".to_owned(), "microservices".to_owned()]
    } else {
        args.topologies.clone()
    };
    let topologies = specs
        .iter()
        .map(|spec| Topology::parse(spec, registry).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (i, topology) in topologies.into_iter().enumerate() {
        let dir = scratch
            .path()
            .join(format!("{i}-{}", sanitize(&topology.name)));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let options = LaunchOptions {
            public: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            data_dir: dir.clone(),
            extra_args: Vec::new(),
            logs: Logs::Files(dir),
        };
        let name = topology.name.clone();
        let launched = Launched::start(topology, options).await?;
        let target =
            Target::prepare(http.clone(), &launched.public_url(), args.users as usize).await?;
        subjects.push(subject(name, Some(launched), target));
    }
    Ok(subjects)
}

fn subject(name: String, launched: Option<Launched>, target: Target) -> Subject {
    let processes = launched.as_ref().map_or(0, |l| l.processes.len());
    Subject {
        name,
        launched,
        target: Arc::new(target),
        recording: Recording::new(None),
        cpu_secs: vec![0.0; processes],
        peers_before: PeerTotals::default(),
        report: None,
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn cpu(launched: Option<&Launched>) -> Vec<f64> {
    launched.map_or_else(Vec::new, |l| {
        l.processes
            .iter()
            .map(|p| p.pid().and_then(procfs::cpu_secs).unwrap_or(0.0))
            .collect()
    })
}

async fn peer_totals(http: &reqwest::Client, launched: Option<&Launched>) -> PeerTotals {
    let mut total = PeerTotals::default();
    for process in launched.map(|l| l.processes.as_slice()).unwrap_or_default() {
        if let Ok(totals) = scrape::fetch(http, &process.url()).await {
            total = total + totals;
        }
    }
    total
}

/// Turns what the load recorded into the topology's report, reading back the orders it
/// placed and the processes' counters.
async fn measure(subject: &Subject, http: &reqwest::Client) -> anyhow::Result<TopologyReport> {
    let recording = &subject.recording;
    let launched = subject.launched.as_ref();
    let internal = match launched {
        Some(_) => {
            let delta = peer_totals(http, launched).await - subject.peers_before;
            let requests = recording.requests.max(1) as f64;
            Some(InternalReport {
                calls: delta.calls as u64,
                bytes: delta.bytes as u64,
                calls_per_request: delta.calls / requests,
                bytes_per_request: delta.bytes / requests,
            })
        }
        None => None,
    };
    let processes = launched.map_or_else(Vec::new, |l| {
        l.processes
            .iter()
            .zip(&subject.cpu_secs)
            .map(|(p, cpu)| ProcessReport {
                roles: p.roles.to_string(),
                cpu_secs: *cpu,
                peak_rss_bytes: p.pid().and_then(procfs::peak_rss_bytes).unwrap_or(0),
            })
            .collect()
    });

    let base = subject.target.base();
    let users = subject.target.users();
    audit::wait_settled(http, base, users, Utc::now(), Duration::from_secs(15)).await;
    let orders = audit::orders_of(http, base, users).await?;
    let tracked: HashSet<_> = recording.placed.iter().copied().collect();
    let (seen, settled, settle) = audit::settle_latency(&orders, &tracked);

    let secs = recording.elapsed.as_secs_f64();
    Ok(TopologyReport {
        name: subject.name.clone(),
        processes,
        load: LoadReport {
            requests: recording.requests,
            secs,
            throughput_rps: if secs > 0.0 {
                recording.ok as f64 / secs
            } else {
                0.0
            },
            errors: recording.errors.clone(),
            latency: latency(&recording.latency),
            operations: Op::ALL
                .iter()
                .zip(&recording.ops)
                .map(|(op, rec)| OperationReport {
                    name: op.name().to_owned(),
                    requests: rec.requests,
                    errors: rec.errors,
                    latency: latency(&rec.latency),
                })
                .collect(),
        },
        settle: SettleReport {
            orders: seen,
            settled,
            latency: latency(&settle),
        },
        internal,
        drill: None,
    })
}

/// Percentiles of a histogram of microseconds, in milliseconds.
fn latency(histogram: &Histogram<u64>) -> Latency {
    if histogram.is_empty() {
        return Latency::default();
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    Latency {
        count: histogram.len(),
        mean_ms: histogram.mean() / 1000.0,
        p50_ms: ms(histogram.value_at_quantile(0.5)),
        p90_ms: ms(histogram.value_at_quantile(0.9)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        p999_ms: ms(histogram.value_at_quantile(0.999)),
        max_ms: ms(histogram.max()),
    }
}

/// A progress bar over the planned run time, with the current phase as its message.
struct Progress {
    bar: ProgressBar,
    started: Instant,
}

impl Progress {
    fn new(args: &CompareArgs, subjects: usize) -> Self {
        let drill = if args.targets.is_empty() {
            args.drill * 3 + Duration::from_secs(2)
        } else {
            Duration::ZERO
        };
        let planned =
            (args.warmup + args.duration + drill + Duration::from_secs(2)) * subjects as u32;
        let bar = ProgressBar::new(planned.as_millis() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
                .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            started: Instant::now(),
        }
    }

    fn phase(&self, message: &str) {
        let length = self.bar.length().unwrap_or(0);
        self.bar
            .set_position((self.started.elapsed().as_millis() as u64).min(length));
        self.bar.set_message(message.to_owned());
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_readme() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
