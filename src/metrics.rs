//! A run's numbers, folded from trace events one at a time: how long service A's jobs take, how
//! much of A's busy time a call holds it, how many jobs finish a second, what fails, how deep the
//! queue is and how far its consumer lags. Pure, with native tests that drive the simulator.
//!
//! What is measured, precisely:
//! - **latency**: for each job that starts at A (a reader's trigger or a workload's arrival),
//!   from that moment to A's `JobDone`, for the jobs that finished without error;
//! - **blocked share**: of the time A's workers spent on jobs (from taking a job to finishing
//!   it), the share a call held them: from the request to the answer or to giving up, retries
//!   and their backoff included;
//! - **throughput**: A's finished jobs per second of simulated time since the run's start;
//! - **errors**: A's failed and lost jobs, and every dropped envelope;
//! - **queue depth**: the first queue's waiting messages after each change;
//! - **consumer lag**: from a message's publish to its ack reaching the broker.
//!
//! # Limitations
//!
//! Percentiles are over the newest [`KEEP`] values; a message's lag is counted only if its
//! publish is still remembered (at most [`KEEP`] unacked at once).

use std::collections::{BTreeMap, VecDeque};

use callflow_sim::{
    Event, EventKind, JobId, Model, MsgId, NodeId, Payload, QueueId, Route, SimDuration, SimTime,
};

/// How many values each series keeps.
pub const KEEP: usize = 1_000;

/// How many of the newest latencies the sparkline shows.
pub const SPARK: usize = 40;

/// The middle, the 95th and the 99th percentile of some durations, by nearest rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: SimDuration,
    pub p95: SimDuration,
    pub p99: SimDuration,
    /// How many values they were taken from.
    pub count: usize,
}

impl Percentiles {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = SimDuration>) -> Option<Percentiles> {
        let mut v: Vec<SimDuration> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        // The value at rank ⌈p·n⌉, counted in whole hundredths so that no rounding moves it.
        let rank = |per_cent: usize| v[(per_cent * v.len()).div_ceil(100).clamp(1, v.len()) - 1];
        Some(Percentiles { p50: rank(50), p95: rank(95), p99: rank(99), count: v.len() })
    }
}

/// Everything the metrics remember of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// The service whose jobs are measured: A.
    origin: Option<NodeId>,
    queue: Option<QueueId>,
    /// A's jobs under way, since they arrived.
    started: BTreeMap<JobId, SimTime>,
    latencies: VecDeque<SimDuration>,
    done: u64,
    failed: u64,
    lost: u64,
    dropped: u64,
    /// Jobs at A (waiting or running) integrated over time, in job-microseconds, up to `since`.
    in_system_area: u128,
    since: SimTime,
    /// Time A's workers spent on jobs and, of it, held by calls; closed intervals only.
    busy: SimDuration,
    blocked: SimDuration,
    busy_since: BTreeMap<u32, SimTime>,
    blocked_since: BTreeMap<u32, SimTime>,
    /// The queue's waiting messages after each change, and the most it held.
    depth: VecDeque<(SimTime, u32)>,
    ready: u32,
    deepest: u32,
    /// Messages published and not yet acked, with their publish time; those waiting, oldest
    /// first.
    published: BTreeMap<MsgId, SimTime>,
    waiting: VecDeque<MsgId>,
    lags: VecDeque<SimDuration>,
}

/// The numbers at one moment, for the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub now: SimTime,
    pub latency: Option<Percentiles>,
    /// The newest latencies, oldest first.
    pub recent: Vec<SimDuration>,
    /// The share of A's busy time a call held it; `None` before A has been busy.
    pub blocked_share: Option<f64>,
    pub busy: SimDuration,
    pub blocked: SimDuration,
    pub done: u64,
    /// Finished jobs a second of simulated time; `None` at time zero.
    pub per_s: Option<f64>,
    /// Jobs at A on average since the start, waiting or running (Little's L).
    pub in_system: Option<f64>,
    pub failed: u64,
    pub lost: u64,
    pub dropped: u64,
    pub queue: Option<QueueSummary>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueSummary {
    pub ready: u32,
    pub deepest: u32,
    /// Depth after each change, oldest first, ending with the depth now.
    pub depth: Vec<(SimTime, u32)>,
    pub lag: Option<Percentiles>,
    /// How long the oldest waiting message has waited since its publish.
    pub oldest_waiting: Option<SimDuration>,
}

impl Metrics {
    /// Metrics for a run of `model`: A's jobs, and the first queue, if there is one.
    pub fn new(model: &Model) -> Metrics {
        Metrics {
            origin: model.node_named("a"),
            queue: model.queue_ids().next(),
            ..Metrics::default()
        }
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: &Event) {
        let a = self.origin;
        let mine = |node: NodeId| Some(node) == a;
        match e.kind {
            EventKind::Triggered { node, job } | EventKind::Arrived { node, job, .. }
                if mine(node) =>
            {
                self.count_in_system(e.at);
                self.started.insert(job, e.at);
            }
            EventKind::JobStarted { node, worker, .. } if mine(node) => {
                self.busy_since.insert(worker, e.at);
            }
            EventKind::CallBlocked { node, worker, .. } if mine(node) => {
                self.blocked_since.entry(worker).or_insert(e.at);
            }
            EventKind::CallReturned { node, worker, ok: true, .. } if mine(node) => {
                self.unblock(worker, e.at);
            }
            EventKind::CallFailed { node, worker, .. } if mine(node) => self.unblock(worker, e.at),
            EventKind::JobDone { node, worker, job, failed } if mine(node) => {
                self.unblock(worker, e.at);
                if let Some(since) = self.busy_since.remove(&worker) {
                    self.busy = self.busy + (e.at - since);
                }
                self.count_in_system(e.at);
                if let Some(start) = self.started.remove(&job) {
                    if failed {
                        self.failed += 1;
                    } else {
                        push(&mut self.latencies, e.at - start);
                        self.done += 1;
                    }
                }
            }
            EventKind::JobLost { node, job } if mine(node) => {
                self.count_in_system(e.at);
                if self.started.remove(&job).is_some() {
                    self.lost += 1;
                }
            }
            EventKind::Crashed { node } if mine(node) => {
                // The workers' jobs are lost: their time ends here.
                for w in self.blocked_since.keys().copied().collect::<Vec<_>>() {
                    self.unblock(w, e.at);
                }
                for (_, since) in std::mem::take(&mut self.busy_since) {
                    self.busy = self.busy + (e.at - since);
                }
            }
            EventKind::Dropped { msg, .. } => {
                self.dropped += 1;
                self.published.remove(&msg);
            }
            EventKind::Sent { msg, payload: Payload::Publish { queue }, .. }
                if Some(queue) == self.queue =>
            {
                self.published.insert(msg, e.at);
                while self.published.len() > KEEP {
                    self.published.pop_first();
                }
            }
            // An outbox's relay sends one message again and again, each time in a new
            // envelope: the lag counts from its first try.
            EventKind::Sent {
                payload: Payload::PublishTo { route: Route::Queue(queue), message },
                ..
            } if Some(queue) == self.queue => {
                self.published.entry(message).or_insert(e.at);
                while self.published.len() > KEEP {
                    self.published.pop_first();
                }
            }
            EventKind::Enqueued { queue, message, ready } if Some(queue) == self.queue => {
                self.waiting.push_back(message);
                self.set_depth(e.at, ready);
            }
            EventKind::Dequeued { queue, message, ready, .. } if Some(queue) == self.queue => {
                self.waiting.retain(|m| *m != message);
                self.set_depth(e.at, ready);
            }
            EventKind::Requeued { queue, message, .. } if Some(queue) == self.queue => {
                self.waiting.push_front(message);
                self.set_depth(e.at, self.ready + 1);
            }
            EventKind::Overflowed { queue, message, dropped_oldest }
                if Some(queue) == self.queue =>
            {
                self.published.remove(&message);
                if dropped_oldest {
                    self.waiting.retain(|m| *m != message);
                    self.set_depth(e.at, self.ready.saturating_sub(1));
                }
            }
            EventKind::DeadLettered { queue, message, .. } if Some(queue) == self.queue => {
                self.published.remove(&message);
            }
            EventKind::Acked { queue, message, .. } if Some(queue) == self.queue => {
                if let Some(at) = self.published.remove(&message) {
                    push(&mut self.lags, e.at - at);
                }
            }
            _ => {}
        }
    }

    /// Adds the jobs at A since the last change to the area, before their number changes.
    fn count_in_system(&mut self, at: SimTime) {
        self.in_system_area += self.started.len() as u128 * (at - self.since).as_micros() as u128;
        self.since = at;
    }

    fn unblock(&mut self, worker: u32, at: SimTime) {
        if let Some(since) = self.blocked_since.remove(&worker) {
            self.blocked = self.blocked + (at - since);
        }
    }

    fn set_depth(&mut self, at: SimTime, ready: u32) {
        self.ready = ready;
        self.deepest = self.deepest.max(ready);
        match self.depth.back_mut() {
            Some(last) if last.0 == at => last.1 = ready,
            _ => push(&mut self.depth, (at, ready)),
        }
    }

    /// The numbers at `now`, with the intervals still open counted up to it.
    pub fn summary(&self, now: SimTime) -> Summary {
        let open = |m: &BTreeMap<u32, SimTime>| {
            m.values().fold(SimDuration::ZERO, |sum, since| sum + (now - *since))
        };
        let busy = self.busy + open(&self.busy_since);
        let blocked = self.blocked + open(&self.blocked_since);
        let elapsed_us = now.as_micros();
        let area = self.in_system_area
            + self.started.len() as u128 * (now - self.since).as_micros() as u128;
        let queue = self.queue.map(|_| {
            let mut depth: Vec<(SimTime, u32)> = self.depth.iter().copied().collect();
            depth.push((now, self.ready));
            QueueSummary {
                ready: self.ready,
                deepest: self.deepest,
                depth,
                lag: Percentiles::of(self.lags.iter().copied()),
                oldest_waiting: self
                    .waiting
                    .front()
                    .and_then(|m| self.published.get(m))
                    .map(|at| now - *at),
            }
        });
        Summary {
            now,
            latency: Percentiles::of(self.latencies.iter().copied()),
            recent: self
                .latencies
                .iter()
                .skip(self.latencies.len().saturating_sub(SPARK))
                .copied()
                .collect(),
            blocked_share: (busy > SimDuration::ZERO)
                .then(|| blocked.as_micros() as f64 / busy.as_micros() as f64),
            busy,
            blocked,
            done: self.done,
            per_s: (elapsed_us > 0).then(|| self.done as f64 * 1e6 / elapsed_us as f64),
            in_system: (elapsed_us > 0).then(|| area as f64 / elapsed_us as f64),
            failed: self.failed,
            lost: self.lost,
            dropped: self.dropped,
            queue,
        }
    }
}

fn push<T>(q: &mut VecDeque<T>, v: T) {
    q.push_back(v);
    if q.len() > KEEP {
        q.pop_front();
    }
}

/// A share as a whole percentage: "96%"; a share above zero never reads "0%".
pub fn percent(share: f64) -> String {
    let p = (share * 100.0).round();
    if p == 0.0 && share > 0.0 {
        "<1%".into()
    } else {
        format!("{p:.0}%")
    }
}

/// A rate in jobs a second, with the digits that matter.
pub fn rate(per_s: f64) -> String {
    if per_s >= 10.0 {
        format!("{per_s:.0}/s")
    } else if per_s >= 1.0 {
        format!("{per_s:.1}/s")
    } else {
        format!("{per_s:.2}/s")
    }
}

/// A sparkline's bars for `values`, oldest first, in a `w`×`h` box with room for at least
/// `slots` bars: `(x, y, width, height)` each, the largest value full height.
pub fn bars(values: &[SimDuration], slots: usize, w: f64, h: f64) -> Vec<(f64, f64, f64, f64)> {
    let top = values.iter().max().map_or(0, |d| d.as_micros()).max(1) as f64;
    let step = w / values.len().max(slots).max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let bar = (d.as_micros() as f64 / top * h).max(1.0);
            (i as f64 * step, h - bar, (step - 1.0).max(1.0), bar)
        })
        .collect()
}

/// A step line through `points` (a time and a count), from the first time to the last, in a
/// `w`×`h` box, as SVG path data; the largest count full height.
pub fn steps(points: &[(SimTime, u32)], w: f64, h: f64) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return String::new() };
    let (t0, t1) = (first.0.as_micros() as f64, last.0.as_micros() as f64);
    let span = (t1 - t0).max(1.0);
    let top = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let x = |t: SimTime| (t.as_micros() as f64 - t0) / span * w;
    let y = |n: u32| h - n as f64 / top * h;
    let mut d = format!("M0,{:.1}", y(first.1));
    for p in &points[1..] {
        d.push_str(&format!("H{:.1}V{:.1}", x(p.0), y(p.1)));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use callflow_sim::scenario::{Arrivals, WorkloadSpec};
    use callflow_sim::{figures, Scenario, Sim};

    /// `scenario` with a workload at A, run to `horizon_ms` (and then until A has finished every
    /// job it started) with the metrics folded in step by step, as playback folds them.
    fn measure(mut scenario: Scenario, arrivals: Arrivals, count: u64) -> (Sim, Metrics) {
        scenario.workloads.push(WorkloadSpec { service: "a".into(), arrivals, count: Some(count) });
        let mut sim = Sim::new(&scenario).unwrap();
        let mut metrics = Metrics::new(sim.model());
        let mut seen = 0;
        while sim.step().is_some() {
            for e in sim.trace().since(seen) {
                metrics.apply(e);
                seen = e.seq + 1;
            }
        }
        (sim, metrics)
    }

    /// A's job latencies as the trace tells them, independently of the fold.
    fn latencies_in(sim: &Sim) -> Vec<SimDuration> {
        let a = sim.model().node_named("a").unwrap();
        let mut start = BTreeMap::new();
        let mut out = Vec::new();
        for e in sim.trace().since(0) {
            match e.kind {
                EventKind::Arrived { node, job, .. } if node == a => {
                    start.insert(job, e.at);
                }
                EventKind::JobDone { node, job, failed: false, .. } if node == a => {
                    out.push(e.at - start[&job]);
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn constant_latencies_have_every_percentile_equal_to_the_constant() {
        // One job a second; each takes 60 + 400 + 60 ms of call and 20 ms of A's own work.
        let (sim, m) =
            measure(figures::request_response(), Arrivals::Fixed { every_ms: 1_000.0 }, 20);
        let s = m.summary(sim.now());
        let l = s.latency.unwrap();
        assert_eq!(l.count, 20);
        let job = SimDuration::from_millis(540);
        assert_eq!((l.p50, l.p95, l.p99), (job, job, job));
        assert_eq!(s.recent.len(), 20);
        assert_eq!(s.blocked, SimDuration::from_millis(20 * 520));
        assert_eq!(s.busy, SimDuration::from_millis(20 * 540));
        // The last job arrives at 19 s and ends at 19.54 s.
        assert_eq!(sim.now(), SimTime::from_micros(19_540_000));
        assert!((s.per_s.unwrap() - 20.0 / 19.54).abs() < 1e-12);
        assert_eq!((s.failed, s.lost, s.dropped), (0, 0, 0));
        assert!(s.queue.is_none());
    }

    #[test]
    fn percentiles_under_poisson_load_are_those_of_the_trace() {
        let (sim, m) = measure(figures::request_response(), Arrivals::Poisson { per_s: 1.5 }, 400);
        let mut want = latencies_in(&sim);
        assert_eq!(want.len(), 400);
        want.sort();
        let s = m.summary(sim.now());
        let l = s.latency.unwrap();
        assert_eq!(l.p50, want[199]);
        assert_eq!(l.p95, want[379]);
        assert_eq!(l.p99, want[395]);
        assert!(l.p99 > l.p50, "queueing at A spreads them: {l:?}");
        assert!(l.p50 >= SimDuration::from_millis(540), "no job is faster than one exchange");
    }

    #[test]
    fn littles_law_holds_over_the_whole_run() {
        // Every job started has finished: the time-average number of jobs at A is the rate of
        // finished jobs times their mean latency, exactly.
        let (sim, m) = measure(figures::hybrid(), Arrivals::Poisson { per_s: 2.0 }, 300);
        let s = m.summary(sim.now());
        let lat = latencies_in(&sim);
        let mean_s = lat.iter().map(|d| d.as_micros() as f64).sum::<f64>() / lat.len() as f64 / 1e6;
        let l = s.in_system.unwrap();
        let lambda_w = s.per_s.unwrap() * mean_s;
        assert!((l - lambda_w).abs() < 1e-9 * l.max(1.0), "L = {l}, λW = {lambda_w}");
        // One hybrid job holds A for 390 ms: some jobs waited for others.
        let longest = lat.iter().max().unwrap();
        assert!(*longest > SimDuration::from_millis(2 * 390), "the longest took {longest}");
    }

    #[test]
    fn a_sync_caller_is_blocked_nearly_all_its_busy_time_and_an_async_one_never() {
        let (sim, m) = measure(figures::request_response(), Arrivals::Poisson { per_s: 1.5 }, 200);
        let share = m.summary(sim.now()).blocked_share.unwrap();
        assert!((share - 520.0 / 540.0).abs() < 1e-9, "{share}");

        let (sim, m) = measure(figures::broker(), Arrivals::Poisson { per_s: 2.0 }, 200);
        let s = m.summary(sim.now());
        assert_eq!(s.blocked_share, Some(0.0));
        assert_eq!(s.busy, SimDuration::from_millis(200 * 20), "A's own work only");
    }

    #[test]
    fn an_outbox_message_s_lag_counts_from_its_first_try() {
        use callflow_sim::scenario::{Fault, FaultSpec, NodeSpec, PublishMode, Step};
        // B's message goes through its outbox while the broker is down for the first 2 s.
        let mut s = figures::hybrid();
        for n in &mut s.nodes {
            if let NodeSpec::Service(b) = n {
                for step in &mut b.on_request {
                    if let Step::Publish { mode, .. } = step {
                        *mode = PublishMode::Outbox { retry_ms: 500.0 };
                    }
                }
            }
        }
        s.faults = vec![
            FaultSpec { at_ms: 0.0, fault: Fault::Crash { node: "broker".into() } },
            FaultSpec { at_ms: 2000.0, fault: Fault::Recover { node: "broker".into() } },
        ];
        let (sim, m) = measure(s, Arrivals::Fixed { every_ms: 1000.0 }, 1);
        let first_try = sim.trace().since(0).find_map(|e| match e.kind {
            EventKind::Sent { payload: Payload::PublishTo { .. }, .. } => Some(e.at),
            _ => None,
        });
        let acked = sim.trace().since(0).find_map(|e| match e.kind {
            EventKind::Acked { .. } => Some(e.at),
            _ => None,
        });
        let (first_try, acked) = (first_try.unwrap(), acked.unwrap());
        let lag = m.summary(sim.now()).queue.unwrap().lag.unwrap();
        assert_eq!((lag.count, lag.p50), (1, acked - first_try));
        assert!(acked - first_try > SimDuration::from_millis(1_500), "it waited for the broker");
    }

    #[test]
    fn the_queue_depth_and_the_consumer_lag_follow_the_broker() {
        // B needs 900 ms a message and they come at two a second: the queue grows.
        let (sim, m) = measure(figures::broker(), Arrivals::Poisson { per_s: 2.0 }, 100);
        let q = m.summary(sim.now()).queue.unwrap();
        assert_eq!(q.ready, 0, "all delivered by the end");
        assert!(q.deepest > 10, "deepest {}", q.deepest);
        let queue = sim.model().queue_ids().next().unwrap();
        let mut deepest = 0;
        for e in sim.trace().since(0) {
            if let EventKind::Enqueued { ready, .. } = e.kind {
                deepest = deepest.max(ready);
            }
        }
        assert_eq!(q.deepest, deepest);
        assert_eq!(sim.queue_holding(queue), Some((0, 0)));
        let lag = q.lag.unwrap();
        assert_eq!(lag.count, 100);
        // The first message meets an empty queue: 40 ms to the broker, 40 to B, 900 of work, 40
        // back with the ack. Later ones wait as well.
        let first = SimDuration::from_millis(1_020);
        assert!(lag.p50 > first && lag.p99 >= lag.p95 && lag.p95 >= lag.p50, "{lag:?}");
        assert_eq!(Percentiles::of(m.lags.iter().copied().take(1)).unwrap().p50, first);
    }

    #[test]
    fn the_oldest_waiting_message_ages_with_the_clock() {
        let mut sim = Sim::new(&figures::broker()).unwrap();
        let mut m = Metrics::new(sim.model());
        for _ in 0..3 {
            sim.trigger(NodeId(0)).unwrap();
        }
        sim.run_until(SimTime::from_micros(200_000));
        for e in sim.trace().since(0) {
            m.apply(e);
        }
        let q = m.summary(sim.now()).queue.unwrap();
        // A publishes at 0, 20 and 40 ms; the first went to B, the other two wait.
        assert_eq!(q.ready, 2);
        let oldest = q.oldest_waiting.unwrap();
        assert_eq!(oldest, SimDuration::from_millis(180));
        let later = m.summary(sim.now() + SimDuration::from_millis(100)).queue.unwrap();
        assert_eq!(later.oldest_waiting.unwrap(), oldest + SimDuration::from_millis(100));
    }

    #[test]
    fn sparklines_fit_their_box() {
        let ms = |v: u64| SimDuration::from_millis(v);
        let b = bars(&[ms(10), ms(40), ms(20)], 3, 30.0, 20.0);
        assert_eq!(b[1], (10.0, 0.0, 9.0, 20.0), "the largest is full height");
        assert_eq!(b[0], (0.0, 15.0, 9.0, 5.0));
        assert_eq!(bars(&[ms(10)], 6, 30.0, 20.0), [(0.0, 0.0, 4.0, 20.0)], "one bar, thin");
        assert!(bars(&[], 3, 30.0, 20.0).is_empty());
        let t = |v: u64| SimTime::from_micros(v * 1_000);
        assert_eq!(
            steps(&[(t(0), 0), (t(50), 2), (t(100), 1)], 100.0, 10.0),
            "M0,10.0H50.0V0.0H100.0V5.0"
        );
        assert_eq!(steps(&[], 100.0, 10.0), "");
    }

    #[test]
    fn nothing_finished_reads_as_nothing() {
        let model = figures::request_response().validate().unwrap();
        let s = Metrics::new(&model).summary(SimTime::ZERO);
        assert_eq!((s.latency, s.blocked_share, s.per_s, s.in_system), (None, None, None, None));
        assert!(s.recent.is_empty());
        assert_eq!(Percentiles::of([]), None);
        assert_eq!(percent(0.004), "<1%");
        assert_eq!(percent(0.963), "96%");
        assert_eq!(rate(1.0 / 1.954), "0.51/s");
    }
}
