//! The command line of `cleave compare`. `--with KEY=VALUE` belongs to the `--topology`
//! written before it, which clap's derived structs cannot say: [`CompareArgs`] reads the
//! flags through them, then pairs each `--with` with its topology by position.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, FromArgMatches};

use super::drill::Kind;

#[derive(Debug, Clone, Args)]
pub struct CompareFlags {
    /// A topology to start and measure (monolith, microservices, or a grouping such as
    /// users+orders,payments+shipping); repeat to compare several. Default: monolith and
    /// microservices.
    #[arg(long = "topology", value_name = "TOPOLOGY")]
    pub topologies: Vec<String>,

    /// An environment variable for the processes of the --topology written before it,
    /// making a variant: `--topology microservices --with CLEAVE_EVENT_BUS=nats://…`
    /// beside a plain `--topology microservices`. Repeat for several.
    #[arg(long = "with", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub with: Vec<(String, String)>,

    /// The URL of a deployment already running (compose, Kubernetes) to measure instead;
    /// repeat to compare several. Nothing is started or killed, so CPU, memory, internal
    /// calls and the failure drill are not measured.
    #[arg(long = "target", value_name = "URL", conflicts_with_all = ["topologies", "with"])]
    pub targets: Vec<String>,

    /// Measured load per topology (such as 20s, 1m, 500ms), cut into --rounds slices.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Slices of the measured load; the topologies take turns, one slice each. The spread
    /// of the figures over rounds is how sure the report is.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Concurrent clients (closed loop), or the cap on requests in flight with --rate.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,

    /// Send this many requests per second, whatever the answers (open loop), instead of
    /// as fast as the clients get answers; latency then counts from the intended send time.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// The failure drill: `process` kills the process holding payments (in a monolith,
    /// everything); `module` makes the payments module alone fail in any shape, through
    /// an internal fault switch; `none` skips it.
    #[arg(long, value_enum, default_value = "process")]
    pub drill: Kind,

    /// How long payments is down in the failure drill.
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    pub outage: Duration,

    /// After the measured rounds, step the offered rate up (open loop) until each
    /// topology misses --slo-p99-ms, and report where each one breaks.
    #[arg(long)]
    pub sweep: bool,

    /// The latency objective of --sweep: a step meets it when its p99 is at most this
    /// many milliseconds, under 1 % of requests fail, and 90 % of the offered rate is
    /// served.
    #[arg(long, default_value_t = 100.0, value_parser = parse_rate)]
    pub slo_p99_ms: f64,

    /// The first offered rate of --sweep, requests per second; each step is 1.5 times
    /// the last.
    #[arg(long, default_value_t = 100.0, value_parser = parse_rate)]
    pub sweep_from: f64,

    /// How long each step of --sweep lasts, per topology.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub sweep_step: Duration,

    /// Give each topology's cores and memory at this many requests per second,
    /// extrapolated from its CPU per request and memory at a load it sustained.
    #[arg(long, value_parser = parse_rate)]
    pub target_rate: Option<f64>,

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

/// The flags, and the `--with` settings of each topology, in the order of the topologies.
#[derive(Debug, Clone)]
pub struct CompareArgs {
    pub flags: CompareFlags,
    /// Per `--topology`, the settings written after it and before the next.
    pub variants: Vec<Vec<(String, String)>>,
}

impl Deref for CompareArgs {
    type Target = CompareFlags;

    fn deref(&self) -> &CompareFlags {
        &self.flags
    }
}

impl CompareArgs {
    /// The topologies to start, with their variants: the monolith and the split unless
    /// told otherwise.
    pub fn topologies(&self) -> Vec<(String, Vec<(String, String)>)> {
        if self.topologies.is_empty() {
            return ["monolith", "microservices"]
                .map(|name| (name.to_owned(), Vec::new()))
                .to_vec();
        }
        self.topologies
            .iter()
            .cloned()
            .zip(self.variants.iter().cloned())
            .collect()
    }
}

impl FromArgMatches for CompareArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let flags = CompareFlags::from_arg_matches(matches)?;
        let topologies: Vec<usize> = matches
            .indices_of("topologies")
            .map(Iterator::collect)
            .unwrap_or_default();
        let mut variants = vec![Vec::new(); topologies.len()];
        let at = matches.indices_of("with").into_iter().flatten();
        for (setting, index) in flags.with.iter().zip(at) {
            let Some(owner) = topologies.iter().rposition(|&t| t < index) else {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--with applies to the --topology written before it; write a --topology first\n",
                ));
            };
            variants[owner].push(setting.clone());
        }
        Ok(Self { flags, variants })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for CompareArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        CompareFlags::augment_args(command)
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        CompareFlags::augment_args_for_update(command)
    }
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!(
            "{text:?} is not KEY=VALUE, such as CLEAVE_EVENT_BUS=nats://127.0.0.1:4222"
        )),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a positive number")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        compare: CompareArgs,
    }

    fn parse(args: &[&str]) -> Result<CompareArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("compare").chain(args.iter().copied()))
            .map(|cli| cli.compare)
    }

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

    #[test]
    fn each_with_belongs_to_the_topology_before_it() {
        let args = parse(&[
            "--topology=microservices",
            "--topology",
            "microservices",
            "--with",
            "CLEAVE_EVENT_BUS=nats://127.0.0.1:4222",
            "--duration=2s",
            "--with=A=b=c",
            "--topology=monolith",
        ])
        .unwrap();
        let nats = (
            "CLEAVE_EVENT_BUS".to_owned(),
            "nats://127.0.0.1:4222".to_owned(),
        );
        let a = ("A".to_owned(), "b=c".to_owned());
        assert_eq!(
            args.topologies(),
            [
                ("microservices".to_owned(), vec![]),
                ("microservices".to_owned(), vec![nats, a]),
                ("monolith".to_owned(), vec![]),
            ]
        );
        assert_eq!(args.duration, Duration::from_secs(2));
        assert_eq!(parse(&[]).unwrap().topologies().len(), 2);
    }

    #[test]
    fn a_with_needs_a_topology_before_it_and_a_key() {
        assert!(parse(&["--with=A=b", "--topology=monolith"]).is_err());
        assert!(parse(&["--topology=monolith", "--with=nothing"]).is_err());
        assert!(parse(&["--topology=monolith", "--with==b"]).is_err());
    }
}
