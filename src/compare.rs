//! The three figures side by side under one workload: the same Poisson arrivals at A (a rate
//! and a seed the reader picks), run for a fixed stretch of simulated time, and each run's
//! [`Summary`]. Runs synchronously; the simulator is fast enough for it. Pure, with native
//! tests.

use callflow_sim::engine::DEFAULT_TRACE_CAPACITY;
use callflow_sim::scenario::{Arrivals, WorkloadSpec};
use callflow_sim::{Sim, SimDuration, SimTime};

use crate::catalog::FigureKind;
use crate::metrics::{percent, rate, Metrics, Summary};

/// How long each run lasts, in simulated time.
pub const HORIZON: SimDuration = SimDuration::from_millis(60_000);

/// The rates a reader may pick, in jobs a second.
pub const MIN_RATE: f64 = 0.01;
pub const MAX_RATE: f64 = 20.0;

/// At most this many simulator steps between two looks at the trace, far below its capacity.
const CHUNK: usize = 1_000;

/// One figure's run under the workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub kind: FigureKind,
    pub summary: Summary,
}

/// The three runs, and the workload they shared.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub per_s: f64,
    pub seed: u64,
    pub runs: Vec<Run>,
}

/// Reads the reader's rate and seed; the error is a sentence for the page.
pub fn parse(rate_text: &str, seed_text: &str) -> Result<(f64, u64), String> {
    let per_s = rate_text.trim().parse::<f64>().ok().filter(|r| r.is_finite());
    let Some(per_s) = per_s.filter(|r| (MIN_RATE..=MAX_RATE).contains(r)) else {
        return Err(format!(
            "The rate must be a number of jobs a second from {MIN_RATE} to {MAX_RATE}; \
             “{}” is not. The results shown are still those of the last run.",
            rate_text.trim()
        ));
    };
    let Ok(seed) = seed_text.trim().parse::<u64>() else {
        return Err(format!(
            "The seed must be a whole number from 0 to {}; “{}” is not. The results shown are \
             still those of the last run.",
            u64::MAX,
            seed_text.trim()
        ));
    };
    Ok((per_s, seed))
}

/// Runs every figure for [`HORIZON`] with jobs arriving at A at `per_s` a second.
pub fn compare(per_s: f64, seed: u64) -> Result<Comparison, String> {
    let mut runs = Vec::new();
    for kind in FigureKind::ALL {
        let mut scenario = kind.scenario();
        scenario.seed = seed;
        scenario.workloads.push(WorkloadSpec {
            service: "a".into(),
            arrivals: Arrivals::Poisson { per_s },
            count: None,
        });
        let model = scenario.validate().map_err(|e| e.to_string())?;
        let mut sim = Sim::from_model(model, DEFAULT_TRACE_CAPACITY);
        let mut metrics = Metrics::new(sim.model());
        let end = SimTime::ZERO + HORIZON;
        let mut seen = 0;
        loop {
            let reached = sim.run_until_bounded(end, CHUNK);
            for e in sim.trace().since(seen) {
                metrics.apply(e);
                seen = e.seq + 1;
            }
            if reached {
                break;
            }
        }
        runs.push(Run { kind, summary: metrics.summary(sim.now()) });
    }
    Ok(Comparison { per_s, seed, runs })
}

impl Comparison {
    fn of(&self, kind: FigureKind) -> Option<&Summary> {
        self.runs.iter().find(|r| r.kind == kind).map(|r| &r.summary)
    }

    /// What the numbers say about A, in a few sentences.
    pub fn sentence(&self) -> String {
        let numbers = |kind: FigureKind| {
            self.of(kind).map_or((String::new(), String::new()), |s| {
                let latency = s.latency.map_or_else(|| "nothing".into(), |l| l.p50.to_string());
                (latency, s.blocked_share.map_or_else(|| "—".into(), percent))
            })
        };
        let (sync_p50, sync_blocked) = numbers(FigureKind::RequestResponse);
        let (async_p50, async_blocked) = numbers(FigureKind::Broker);
        let (hybrid_p50, hybrid_blocked) = numbers(FigureKind::Hybrid);
        let mut text = format!(
            "With {} jobs a second arriving at A: when A calls B and waits, its median job takes \
             {sync_p50} and calls hold it {sync_blocked} of its busy time; when it publishes \
             through the broker, {async_p50} and {async_blocked}; in the hybrid, where B \
             publishes for C, {hybrid_p50} and {hybrid_blocked}.",
            rate(self.per_s).trim_end_matches("/s"),
        );
        let (Some(sync), Some(async_)) =
            (self.of(FigureKind::RequestResponse), self.of(FigureKind::Broker))
        else {
            return text;
        };
        let (sync_busy, async_busy) = (busy_share(sync), busy_share(async_));
        text.push_str(&format!(
            " A's worker was busy {} of the run when it waited for B, {} when it published: \
             the waiting, not A's own work, is what keeps it busy.",
            percent(sync_busy),
            percent(async_busy)
        ));
        if sync_busy > 0.95 {
            text.push_str(
                " At this rate the synchronous A cannot keep up: jobs pile up in its inbox and \
                 their latency grows as the run goes on.",
            );
        }
        text
    }
}

/// The share of the run A's one worker spent on jobs.
pub fn busy_share(s: &Summary) -> f64 {
    let run = s.now.as_micros();
    if run == 0 {
        return 0.0;
    }
    s.busy.as_micros() as f64 / run as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rates_and_seeds_say_why() {
        for bad in ["", "abc", "-1", "0", "1e9", "NaN", "inf"] {
            let e = parse(bad, "7").unwrap_err();
            assert!(e.starts_with("The rate must be"), "{bad}: {e}");
        }
        for bad in ["", "-3", "1.5", "x", "99999999999999999999999"] {
            let e = parse("1", bad).unwrap_err();
            assert!(e.starts_with("The seed must be"), "{bad}: {e}");
        }
        assert_eq!(parse(" 1.5 ", " 42 "), Ok((1.5, 42)));
    }

    #[test]
    fn the_sync_caller_waits_and_the_async_one_does_not() {
        let c = compare(1.0, 2026).unwrap();
        assert_eq!(c.runs.len(), 3);
        let of = |k: FigureKind| &c.runs.iter().find(|r| r.kind == k).unwrap().summary;
        let (sync, async_, hybrid) =
            (of(FigureKind::RequestResponse), of(FigureKind::Broker), of(FigureKind::Hybrid));
        for s in [sync, async_, hybrid] {
            assert_eq!(s.now, SimTime::ZERO + HORIZON);
            assert!(s.done > 30, "about sixty arrivals in a minute: {}", s.done);
        }
        assert!(sync.blocked_share.unwrap() > 0.9);
        assert_eq!(async_.blocked_share, Some(0.0));
        assert!(hybrid.blocked_share.unwrap() > 0.9);
        let p50 = |s: &Summary| s.latency.unwrap().p50;
        assert!(p50(sync) >= SimDuration::from_millis(540));
        assert!(p50(async_) < SimDuration::from_millis(100));
        assert!(p50(hybrid) < p50(sync), "B answers before C's work, so A waits less");
        let said = c.sentence();
        let blocked = percent(sync.blocked_share.unwrap());
        let want = format!(
            "when A calls B and waits, its median job takes {} and calls hold it {blocked} of",
            p50(sync)
        );
        assert!(said.contains(&want), "{said}");
        let want = format!("when it publishes through the broker, {} and 0%", p50(async_));
        assert!(said.contains(&want), "{said}");
        assert!(busy_share(sync) > 10.0 * busy_share(async_), "{said}");
        assert!(!said.contains("cannot keep up"), "{said}");
    }

    #[test]
    fn every_figure_gets_the_same_arrivals() {
        let arrivals = |kind: FigureKind| {
            let mut scenario = kind.scenario();
            scenario.seed = 11;
            scenario.workloads.push(WorkloadSpec {
                service: "a".into(),
                arrivals: Arrivals::Poisson { per_s: 4.0 },
                count: Some(200),
            });
            let mut sim = Sim::new(&scenario).unwrap();
            sim.run_until_idle(1_000_000);
            let times: Vec<SimTime> = sim
                .trace()
                .since(0)
                .filter(|e| matches!(e.kind, callflow_sim::EventKind::Arrived { .. }))
                .map(|e| e.at)
                .collect();
            times
        };
        let sync = arrivals(FigureKind::RequestResponse);
        assert_eq!(sync.len(), 200);
        assert_eq!(arrivals(FigureKind::Broker), sync);
        assert_eq!(arrivals(FigureKind::Hybrid), sync);
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        assert_eq!(compare(3.0, 5), compare(3.0, 5));
        assert_ne!(compare(3.0, 5), compare(3.0, 6));
        let c = compare(3.0, 5).unwrap();
        assert!(c.sentence().contains("cannot keep up"), "{}", c.sentence());
    }
}
