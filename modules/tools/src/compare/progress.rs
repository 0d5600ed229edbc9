//! What `cleave compare` is doing while it runs. On a terminal, a bar over the planned
//! work that ends full; anywhere else (a CI log, a pipe) one line per phase and round on
//! standard error, with the time so far and an estimate of the rest, so that a long run is
//! never silent until its last second.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub(super) struct Progress {
    /// `None` when standard error is not a terminal: lines are written instead.
    bar: Option<ProgressBar>,
    started: Instant,
    /// The sum of every phase's budget: how long the run should take.
    planned: Duration,
    /// The budgets of the phases already done.
    done: Duration,
    /// The budget of the phase under way.
    current: Duration,
}

impl Progress {
    /// A run expected to take `planned`, the sum of the budgets later given to `phase`.
    pub(super) fn new(planned: Duration) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(planned.as_millis() as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            planned,
            done: Duration::ZERO,
            current: Duration::ZERO,
        }
    }

    /// Starts a phase expected to take about `budget`; the previous one is done.
    pub(super) fn phase(&mut self, message: &str, budget: Duration) {
        self.done += self.current;
        self.current = budget;
        let elapsed = self.started.elapsed();
        match &self.bar {
            Some(bar) => {
                bar.set_position(
                    (self.done.as_millis() as u64).min(self.planned.as_millis() as u64),
                );
                bar.set_message(message.to_owned());
            }
            None => {
                let rest = remaining(self.planned, self.done, elapsed);
                // Not eprintln!: a closed stderr must not end the run.
                let _ = writeln!(std::io::stderr().lock(), "{}", line(elapsed, message, rest));
            }
        }
    }

    /// What is left after the phase under way is now expected to take `rest`: a phase of
    /// unknown length, such as a sweep, is over.
    pub(super) fn replan(&mut self, rest: Duration) {
        self.planned = self.done + self.current + rest;
        if let Some(bar) = &self.bar {
            bar.set_length(self.planned.as_millis() as u64);
        }
    }

    /// The run is over: the bar ends full, or a last line says how long it took.
    pub(super) fn finish(&mut self) {
        let elapsed = self.started.elapsed();
        let message = format!("done in {}", seconds(elapsed));
        match &self.bar {
            Some(bar) => {
                bar.set_length(self.planned.as_millis().max(1) as u64);
                bar.set_position(self.planned.as_millis().max(1) as u64);
                bar.finish_with_message(message);
            }
            None => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "{}",
                    line(elapsed, &message, Duration::ZERO)
                );
            }
        }
    }
}

/// What is left of the plan, at the pace of the run so far: phases that took twice their
/// budget make the rest look twice as long.
fn remaining(planned: Duration, done: Duration, elapsed: Duration) -> Duration {
    let left = planned.saturating_sub(done);
    if done.is_zero() {
        return left;
    }
    let pace = (elapsed.as_secs_f64() / done.as_secs_f64()).clamp(0.5, 4.0);
    left.mul_f64(pace)
}

/// `cleave compare [  12.3 s] round 2/4: microservices (about 31 s left)`.
fn line(elapsed: Duration, message: &str, rest: Duration) -> String {
    let rest = if rest.is_zero() {
        String::new()
    } else {
        format!(" (about {} left)", seconds(rest))
    };
    format!("cleave compare [{:>7}] {message}{rest}", seconds(elapsed))
}

fn seconds(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 100.0 {
        format!("{secs:.1} s")
    } else {
        format!("{} s", secs.round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_follows_the_pace_so_far() {
        let s = Duration::from_secs;
        assert_eq!(remaining(s(60), s(0), s(0)), s(60));
        assert_eq!(remaining(s(60), s(20), s(20)), s(40));
        assert_eq!(remaining(s(60), s(20), s(40)), s(80), "twice as slow");
        assert_eq!(remaining(s(60), s(60), s(70)), s(0));
    }

    #[test]
    fn a_line_says_when_what_and_how_long_still() {
        assert_eq!(
            line(
                Duration::from_millis(12_340),
                "round 2/4: microservices",
                Duration::from_secs(31)
            ),
            "cleave compare [ 12.3 s] round 2/4: microservices (about 31.0 s left)"
        );
        assert_eq!(
            line(Duration::from_secs(150), "done in 150 s", Duration::ZERO),
            "cleave compare [  150 s] done in 150 s"
        );
    }
}
