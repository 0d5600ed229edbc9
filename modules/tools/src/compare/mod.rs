//! `cleave compare`: the same workload on several topologies, side by side, in one run.
//!
//! Every topology is started at once, each from its own data directory, and the measured
//! load is cut into rounds that visit the topologies in turn, so that whatever else the
//! machine does hits them alike. Then, if asked, each is swept through rising offered
//! rates, and each goes through the failure drill. Layout: [`args`] is the command line,
//! [`load`] generates the requests, [`procfs`] and [`scrape`] read CPU, memory and the
//! processes' own counters, [`audit`] reads back what the load left, [`sweep`] finds where
//! each shape breaks, [`drill`] fails payments, [`progress`] says how far the run is,
//! [`report`] holds the figures and [`render`] prints and writes them.

mod args;
pub mod audit;
pub mod drill;
pub mod load;
pub mod procfs;
mod progress;
pub mod render;
pub mod report;
pub mod scrape;
pub mod sweep;

pub use args::CompareArgs;

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use hdrhistogram::Histogram;

use crate::launch::{LaunchOptions, Launched, Logs};
use crate::topology::Topology;
use drill::Kind;
use load::{Mix, Op, Plan, Recording, Target};
use progress::Progress;
use report::{
    Host, InternalReport, Latency, LoadReport, MachineLoad, OperationReport, ProcessReport,
    Quantile, Report, RoundReport, Settings, SettleReport, TopologyReport, SCHEMA_VERSION,
};
use runtime::module::Module;
use scrape::PeerTotals;

/// Time to start a topology and create its buyers, for the progress estimate.
const START_BUDGET: Duration = Duration::from_secs(3);
/// Time to read back what the load left, per topology.
const READ_BACK_BUDGET: Duration = Duration::from_secs(2);
/// The percentiles of the latency distribution the HDR chart draws.
const DISTRIBUTION: [f64; 12] = [
    0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0,
];

/// One topology (or target) being measured.
pub(crate) struct Subject {
    name: String,
    variant: Vec<(String, String)>,
    launched: Option<Launched>,
    target: Arc<Target>,
    recording: Recording,
    rounds: Vec<RoundReport>,
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
    let count = if args.targets.is_empty() {
        args.topologies().len()
    } else {
        args.targets.len()
    };
    let drills = args.targets.is_empty() && args.drill != Kind::None;
    let drill_budget = args.outage * 3 + Duration::from_secs(3);
    let mut progress = Progress::new(planned(&args, count, drills, drill_budget));
    let load_before = procfs::load_average().unwrap_or_default();

    progress.phase("starting", START_BUDGET * count as u32);
    let mut subjects = start(&args, registry, &scratch, &http).await?;

    for subject in &subjects {
        progress.phase(&format!("warming up {}", subject.name), args.warmup);
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
    let mut machine = Machine::default();
    for round in 1..=args.rounds {
        for subject in &mut subjects {
            progress.phase(
                &format!("round {round}/{}: {}", args.rounds, subject.name),
                plan.duration,
            );
            let before = cpu(subject.launched.as_ref());
            let outside = Outside::now();
            let recording = load::run(&subject.target, plan, None).await;
            let after = cpu(subject.launched.as_ref());
            let used: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            machine.add(&outside, used.iter().sum(), recording.elapsed);
            for (total, used) in subject.cpu_secs.iter_mut().zip(&used) {
                *total += used;
            }
            let cpu_secs = subject.launched.is_some().then(|| used.iter().sum::<f64>());
            subject.rounds.push(round_report(&recording, cpu_secs));
            subject.recording.merge(recording);
        }
    }

    for subject in &mut subjects {
        progress.phase(&format!("reading back {}", subject.name), READ_BACK_BUDGET);
        subject.report = Some(measure(subject, &http).await?);
    }

    let sweep = if args.sweep && args.targets.is_empty() {
        let sweep = sweep::run(&mut subjects, &args, plan.mix, &mut progress).await;
        let drills_left = if drills {
            drill_budget * count as u32
        } else {
            Duration::ZERO
        };
        progress.replan(drills_left + Duration::from_secs(1));
        Some(sweep)
    } else {
        None
    };

    if drills {
        for subject in &mut subjects {
            let Some(launched) = subject.launched.as_mut() else {
                continue;
            };
            progress.phase(
                &format!("failure drill ({}): {}", args.drill.name(), subject.name),
                drill_budget,
            );
            let drill_plan = Plan {
                concurrency: plan.concurrency.min(8),
                ..plan
            };
            let drill = drill::run(launched, &http, drill_plan, args.outage, args.drill).await?;
            if let Some(report) = subject.report.as_mut() {
                report.drill = Some(drill);
            }
        }
    }

    progress.phase("stopping", Duration::from_secs(1));
    let mut topologies = Vec::new();
    for subject in subjects {
        if let Some(launched) = subject.launched {
            launched.stop().await;
        }
        topologies.extend(subject.report);
    }
    progress.finish();

    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        started_at,
        elapsed_secs: started.elapsed().as_secs_f64(),
        host: Host {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: procfs::cpu_model(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            cleave_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        machine: MachineLoad::default(),
        settings: Settings {
            mode: if args.rate.is_some() {
                "open"
            } else {
                "closed"
            }
            .to_owned(),
            concurrency: args.concurrency as usize,
            rate: args.rate,
            target_rate: args.target_rate,
            duration_secs: args.duration.as_secs_f64(),
            rounds: args.rounds as usize,
            drill: if drills { args.drill } else { Kind::None }
                .name()
                .to_owned(),
            drill_secs: if drills {
                args.outage.as_secs_f64()
            } else {
                0.0
            },
            mix: plan.mix.as_map(),
        },
        verdict: Vec::new(),
        warnings: Vec::new(),
        topologies,
        sweep,
    };
    report.machine = machine.report(load_before, report.host.cores);
    report.verdict = render::verdict(&report);
    report.warnings = render::warnings(&report);
    println!("{}", render::terminal_table(&report));
    for path in render::write_all(&report, &args.out)? {
        println!("wrote {}", path.display());
    }
    if let Scratch::Kept(dir) = scratch {
        println!("databases and logs kept in {}", dir.display());
    }
    Ok(())
}

/// How long the whole run should take, for the progress estimate: the sum of the budgets
/// its phases are given.
fn planned(args: &CompareArgs, count: usize, drills: bool, drill_budget: Duration) -> Duration {
    let per_topology = START_BUDGET
        + args.warmup
        + args.duration
        + READ_BACK_BUDGET
        + if drills { drill_budget } else { Duration::ZERO }
        + if args.sweep {
            args.sweep_step * sweep::EXPECTED_STEPS
        } else {
            Duration::ZERO
        };
    per_topology * count as u32 + Duration::from_secs(1)
}

/// The figures of one round.
fn round_report(recording: &Recording, cpu_secs: Option<f64>) -> RoundReport {
    let secs = recording.elapsed.as_secs_f64();
    let latency = latency(&recording.latency);
    RoundReport {
        secs,
        requests: recording.requests,
        ok: recording.ok,
        throughput_rps: if secs > 0.0 {
            recording.ok as f64 / secs
        } else {
            0.0
        },
        p50_ms: latency.p50_ms,
        p99_ms: latency.p99_ms,
        cpu_secs,
        cpu_ms_per_request: cpu_secs
            .filter(|_| recording.ok > 0)
            .map(|secs| secs * 1000.0 / recording.ok as f64),
    }
}

/// What the rest of the machine was doing during the measured rounds.
#[derive(Default)]
struct Machine {
    /// The highest 1-minute load average read after a round.
    load_during: f64,
    /// Busy CPU seconds of the machine, of the topologies and of this process.
    busy: Option<f64>,
    topologies: f64,
    generator: Option<f64>,
    wall: Duration,
}

/// CPU counters of the whole machine and of this process, at one moment.
struct Outside {
    busy: Option<f64>,
    generator: Option<f64>,
}

impl Outside {
    fn now() -> Self {
        Self {
            busy: procfs::machine_busy_secs(),
            generator: procfs::cpu_secs(std::process::id()),
        }
    }
}

impl Machine {
    /// Adds a round that started at `before`, in which the topology used `topology` CPU
    /// seconds over `wall`.
    fn add(&mut self, before: &Outside, topology: f64, wall: Duration) {
        let after = Outside::now();
        let delta = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
        let sum = |total: Option<f64>, add: Option<f64>| Some(total.unwrap_or(0.0) + add?);
        self.busy = sum(self.busy, delta(after.busy, before.busy));
        self.generator = sum(self.generator, delta(after.generator, before.generator));
        self.topologies += topology;
        self.wall += wall;
        if let Some([one, ..]) = procfs::load_average() {
            self.load_during = self.load_during.max(one);
        }
    }

    fn report(&self, load_before: [f64; 3], cores: usize) -> MachineLoad {
        let other = self
            .busy
            .map(|busy| (busy - self.topologies - self.generator.unwrap_or(0.0)).max(0.0));
        let capacity = self.wall.as_secs_f64() * cores as f64;
        let other_share = other.filter(|_| capacity > 0.0).map(|o| o / capacity);
        MachineLoad {
            load_before,
            load_during: self.load_during,
            other_cpu_secs: other,
            other_cpu_share: other_share,
            generator_cpu_secs: self.generator,
            busy: load_before[0] > cores as f64 / 2.0 || other_share.is_some_and(|s| s > 0.1),
        }
    }
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
            subjects.push(subject(url.clone(), Vec::new(), None, target));
        }
        return Ok(subjects);
    }
    for (i, (spec, variant)) in args.topologies().into_iter().enumerate() {
        let topology = Topology::parse(&spec, registry).map_err(anyhow::Error::msg)?;
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
            env: variant.clone(),
            logs: Logs::Files(dir),
        };
        let name = topology.name.clone();
        let launched = Launched::start(topology, options).await?;
        let target =
            Target::prepare(http.clone(), &launched.public_url(), args.users as usize).await?;
        subjects.push(subject(name, variant, Some(launched), target));
    }
    Ok(subjects)
}

fn subject(
    name: String,
    variant: Vec<(String, String)>,
    launched: Option<Launched>,
    target: Target,
) -> Subject {
    let processes = launched.as_ref().map_or(0, |l| l.processes.len());
    Subject {
        name,
        variant,
        launched,
        target: Arc::new(target),
        recording: Recording::new(None),
        rounds: Vec::new(),
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

/// CPU seconds so far of each process of a topology.
fn cpu(launched: Option<&Launched>) -> Vec<f64> {
    launched.map_or_else(Vec::new, |l| {
        l.processes
            .iter()
            .map(|p| p.pid().and_then(procfs::cpu_secs).unwrap_or(0.0))
            .collect()
    })
}

/// Resident memory now of every process of a topology, bytes.
fn rss(launched: Option<&Launched>) -> Option<u64> {
    launched.map(|l| {
        l.processes
            .iter()
            .filter_map(|p| p.pid().and_then(procfs::rss_bytes))
            .sum()
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
        variant: subject.variant.iter().cloned().collect::<BTreeMap<_, _>>(),
        processes,
        load: LoadReport {
            requests: recording.requests,
            ok: recording.ok,
            secs,
            throughput_rps: if secs > 0.0 {
                recording.ok as f64 / secs
            } else {
                0.0
            },
            errors: recording.errors.clone(),
            latency: latency(&recording.latency),
            distribution: distribution(&recording.latency),
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
        rounds: subject.rounds.clone(),
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

/// The latency at each of [`DISTRIBUTION`]'s percentiles, milliseconds.
fn distribution(histogram: &Histogram<u64>) -> Vec<Quantile> {
    if histogram.is_empty() {
        return Vec::new();
    }
    DISTRIBUTION
        .iter()
        .map(|&percentile| Quantile {
            percentile,
            ms: histogram.value_at_percentile(percentile) as f64 / 1000.0,
        })
        .collect()
}
