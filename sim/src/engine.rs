//! The engine: the clock, the agenda of what happens next, the random generator and the
//! messages on the wire. Handlers in [`crate::service`] and [`crate::broker`] decide what
//! happens; only the engine makes it so, and writes it to the trace.
//!
//! The agenda is ordered by time and then by the order things were scheduled, so a run depends
//! on nothing but the scenario, the seed and the reader's actions.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::broker::{BrokerState, Publish};
use crate::error::{Error, Problem};
use crate::log::LogState;
use crate::rng::Rng;
use crate::scenario::{
    AckMode, Disruption, Gap, Latency, LatencySpec, LinkId, Log, Model, NodeId, QueueId, Role,
    Route, Scenario, Service, TopicId, MAX_SLOW_PERCENT,
};
use crate::service::{Job, Origin, ServiceState};
use crate::time::{SimDuration, SimTime};
use crate::trace::{DropReason, EventKind, JobId, MsgId, Payload, Trace};

/// How many events a run keeps unless told otherwise.
pub const DEFAULT_TRACE_CAPACITY: usize = 10_000;

/// A message on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub id: MsgId,
    pub from: NodeId,
    pub to: NodeId,
    pub link: LinkId,
    pub payload: Payload,
    pub sent: SimTime,
    pub arrives: SimTime,
}

/// What a handler asks of the engine.
#[derive(Clone, Debug)]
pub(crate) enum Command {
    /// Put the envelope on the wire; its id was taken from the context.
    Send { id: MsgId, from: NodeId, to: NodeId, link: LinkId, payload: Payload },
    /// Hold the worker for one draw of the node's processing time.
    Work { node: NodeId, worker: u32, job: JobId },
    /// Tell the node when `after` has passed, unless the response to `request` came first.
    Timeout { node: NodeId, request: MsgId, after: SimDuration },
    /// Wait `base` plus a random share of it up to `jitter_per_mille`, then retry the call.
    Backoff {
        node: NodeId,
        worker: u32,
        job: JobId,
        attempt: u32,
        base: SimDuration,
        jitter_per_mille: u16,
    },
    /// Record an event as it is.
    Note(EventKind),
}

/// What a handler sees of the world: the time, and a place to put its commands.
pub(crate) struct Ctx<'a> {
    pub now: SimTime,
    next_msg: &'a mut u64,
    out: Vec<Command>,
}

impl Ctx<'_> {
    /// Asks for an envelope to be sent and returns its id.
    pub fn send(&mut self, from: NodeId, to: NodeId, link: LinkId, payload: Payload) -> MsgId {
        let id = self.new_id();
        self.out.push(Command::Send { id, from, to, link, payload });
        id
    }

    /// A new id, for an envelope or for a message that names its own: both come from one
    /// count, so they never meet.
    pub fn new_id(&mut self) -> MsgId {
        let id = MsgId(*self.next_msg);
        *self.next_msg += 1;
        id
    }

    /// The id the next [`Ctx::send`] will give its envelope.
    pub fn next_id(&self) -> MsgId {
        MsgId(*self.next_msg)
    }

    pub fn order(&mut self, c: Command) {
        self.out.push(c);
    }

    pub fn note(&mut self, e: EventKind) {
        self.out.push(Command::Note(e));
    }
}

/// Something on the agenda.
#[derive(Clone, Copy, Debug)]
enum Due {
    Arrival(MsgId),
    /// The end of a worker's work, scheduled in the service's `epoch`: void if it crashed since.
    WorkDone {
        node: NodeId,
        worker: u32,
        epoch: u32,
    },
    /// The model's fault with this index.
    Fault(u16),
    /// A call's attempt times out, if its worker still waits for `request`.
    Timeout {
        node: NodeId,
        request: MsgId,
        epoch: u32,
    },
    /// A worker's backoff is over: it sends its call again.
    Retry {
        node: NodeId,
        worker: u32,
        epoch: u32,
    },
    /// The next job of the workload with this index.
    Workload(u16),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    at: SimTime,
    seq: u64,
    due: Due,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed, so that the max-heap pops the earliest entry first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Clone, Debug)]
enum NodeState {
    Service(ServiceState),
    Broker(BrokerState),
    Log(LogState),
}

/// A running simulation.
#[derive(Clone, Debug)]
pub struct Sim {
    model: Model,
    now: SimTime,
    agenda: BinaryHeap<Entry>,
    next_seq: u64,
    next_msg: u64,
    next_job: u64,
    rng: Rng,
    nodes: Vec<NodeState>,
    wire: BTreeMap<MsgId, Envelope>,
    trace: Trace,
    /// How many jobs each workload has brought so far.
    arrived: Vec<u64>,
    /// The handlers' command list, empty between handlers, kept for its allocation.
    commands: Vec<Command>,
    /// Per node: crashed and not yet recovered.
    down: Vec<bool>,
    /// Per node: how long work takes, in percent of its processing time.
    slow: Vec<u32>,
    /// Per link: envelopes lost per thousand sent.
    loss: Vec<u16>,
    /// Pairs of nodes cut off from each other, the lower id first.
    partitions: BTreeSet<(NodeId, NodeId)>,
    /// Envelopes on the wire that their link lost: they will be dropped on arrival.
    lost: BTreeSet<MsgId>,
}

impl Sim {
    /// Validates the scenario and starts a run at time zero.
    pub fn new(scenario: &Scenario) -> Result<Sim, Error> {
        Ok(Sim::from_model(scenario.validate()?, DEFAULT_TRACE_CAPACITY))
    }

    pub fn from_model(model: Model, trace_capacity: usize) -> Sim {
        let nodes = model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match &n.role {
                Role::Service(s) => NodeState::Service(ServiceState::new(NodeId(i as u16), s)),
                Role::Broker(b) => NodeState::Broker(BrokerState::new(NodeId(i as u16), b)),
                Role::Log(l) => NodeState::Log(LogState::new(NodeId(i as u16), l)),
            })
            .collect();
        let mut sim = Sim {
            rng: Rng::new(model.seed),
            arrived: vec![0; model.workloads.len()],
            commands: Vec::new(),
            down: vec![false; model.nodes.len()],
            slow: vec![100; model.nodes.len()],
            loss: vec![0; model.links.len()],
            partitions: BTreeSet::new(),
            lost: BTreeSet::new(),
            model,
            now: SimTime::ZERO,
            agenda: BinaryHeap::new(),
            next_seq: 0,
            next_msg: 0,
            next_job: 0,
            nodes,
            wire: BTreeMap::new(),
            trace: Trace::new(trace_capacity),
        };
        for w in 0..sim.model.workloads.len() {
            let first = match sim.model.workloads[w].gap {
                Gap::Manual => continue,
                Gap::Fixed(_) => SimTime::ZERO,
                Gap::Exponential(mean) => SimTime::ZERO + sim.draw(Latency::Exponential(mean)),
            };
            sim.schedule(first, Due::Workload(w as u16));
        }
        for i in 0..sim.model.faults.len() {
            let at = sim.model.faults[i].0;
            sim.schedule(at, Due::Fault(i as u16));
        }
        // Every log shares out its partitions, and every subscriber opens its subscriptions,
        // before anything else happens.
        for i in 0..sim.model.nodes.len() {
            sim.rebalance(NodeId(i as u16));
            sim.with_service(NodeId(i as u16), |s, spec, cx| s.open_subscriptions(None, spec, cx));
        }
        sim
    }

    /// A service's epoch: how many times it crashed.
    fn epoch_of(&self, node: NodeId) -> Option<u32> {
        match self.nodes.get(node.0 as usize)? {
            NodeState::Service(s) => Some(s.epoch()),
            NodeState::Broker(_) | NodeState::Log(_) => None,
        }
    }

    /// Whether the node is down.
    pub fn is_down(&self, node: NodeId) -> bool {
        self.down.get(node.0 as usize).copied().unwrap_or(false)
    }

    /// Something goes wrong, or stops going wrong, now. A crash of a node that is down, or a
    /// recovery of one that is up, changes nothing and records nothing. The error is for a
    /// node or link the model does not have, or a value out of range.
    pub fn disrupt(&mut self, d: Disruption) -> Result<(), Error> {
        let node = |n: NodeId| {
            if (n.0 as usize) < self.model.nodes.len() {
                Ok(n)
            } else {
                Err(Error::new("node", Problem::UnknownNode(format!("#{}", n.0))))
            }
        };
        match d {
            Disruption::Crash(n) => {
                node(n)?;
                self.crash(n);
            }
            Disruption::Recover(n) => {
                node(n)?;
                self.recover(n);
            }
            Disruption::Slow(n, percent) => {
                self.service_spec(n, "node")?;
                if percent == 0 || percent > MAX_SLOW_PERCENT {
                    return Err(Error::new("percent", Problem::OutOfRange(1, MAX_SLOW_PERCENT)));
                }
                self.slow[n.0 as usize] = percent;
                self.trace.push(self.now, EventKind::Slowed { node: n, percent });
            }
            Disruption::LinkLoss(link, per_mille) => {
                if link.0 as usize >= self.model.links.len() {
                    return Err(Error::new("link", Problem::UnknownLink(link.0)));
                }
                if per_mille > 1000 {
                    return Err(Error::new(
                        "share",
                        Problem::BadShare(f64::from(per_mille) / 1000.0),
                    ));
                }
                self.loss[link.0 as usize] = per_mille;
                self.trace.push(self.now, EventKind::LinkLossChanged { link, per_mille });
            }
            Disruption::Partition(a, b) | Disruption::Heal(a, b) => {
                let (a, b) = (node(a)?, node(b)?);
                if a == b {
                    return Err(Error::new("b", Problem::SelfLink));
                }
                let pair = (a.min(b), a.max(b));
                if matches!(d, Disruption::Partition(..)) {
                    self.partitions.insert(pair);
                    self.trace.push(self.now, EventKind::Partitioned { a, b });
                } else {
                    self.partitions.remove(&pair);
                    self.trace.push(self.now, EventKind::Healed { a, b });
                }
            }
        }
        Ok(())
    }

    /// The queues `node` consumes, by broker.
    fn consumed_by(&self, node: NodeId) -> Vec<(NodeId, Vec<QueueId>)> {
        self.model
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.role {
                Role::Broker(b) => {
                    let qs: Vec<QueueId> = b
                        .queues
                        .iter()
                        .enumerate()
                        .filter(|(_, q)| q.consumers.iter().any(|c| c.node == node))
                        .map(|(k, _)| QueueId { broker: NodeId(i as u16), index: k as u16 })
                        .collect();
                    (!qs.is_empty()).then_some((NodeId(i as u16), qs))
                }
                Role::Service(_) | Role::Log(_) => None,
            })
            .collect()
    }

    /// The logs with a topic whose group has `node` as a member.
    fn groups_of(&self, node: NodeId) -> Vec<NodeId> {
        (0..self.model.nodes.len() as u16)
            .map(NodeId)
            .filter(|&l| match &self.model.node(l).role {
                Role::Log(log) => {
                    log.topics.iter().any(|t| t.consumers.iter().any(|&(c, _)| c == node))
                }
                _ => false,
            })
            .collect()
    }

    /// The services `node` subscribes to, and those that subscribe to it.
    fn subscriptions_of(&self, node: NodeId) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut servers = Vec::new();
        let mut subscribers = Vec::new();
        for (i, n) in self.model.nodes.iter().enumerate() {
            let Role::Service(s) = &n.role else { continue };
            for sub in &s.subscribe {
                if NodeId(i as u16) == node && !servers.contains(&sub.server) {
                    servers.push(sub.server);
                }
                if sub.server == node && !subscribers.contains(&NodeId(i as u16)) {
                    subscribers.push(NodeId(i as u16));
                }
            }
        }
        (servers, subscribers)
    }

    /// Has the log share out its partitions among the members that are up, if it is up itself.
    fn rebalance(&mut self, log: NodeId) {
        if self.down[log.0 as usize] {
            return;
        }
        let down = self.down.clone();
        let up = move |n: NodeId| !down[n.0 as usize];
        self.with_log(log, |l, spec, cx| l.rebalance(&up, spec, cx));
    }

    fn crash(&mut self, n: NodeId) {
        if self.down[n.0 as usize] {
            return;
        }
        self.down[n.0 as usize] = true;
        self.trace.push(self.now, EventKind::Crashed { node: n });
        match &mut self.nodes[n.0 as usize] {
            NodeState::Service(s) => {
                for job in s.crash() {
                    self.trace.push(self.now, EventKind::JobLost { node: n, job });
                }
                // The broker sees its consumer's channel close and takes back what it held.
                for (broker, queues) in self.consumed_by(n) {
                    self.with_broker(broker, |b, spec, cx| b.consumer_down(n, &queues, spec, cx));
                }
                // Its partitions go to the members still up.
                for log in self.groups_of(n) {
                    self.rebalance(log);
                }
                // Its connections close: the subscriptions it served and those it held end.
                self.with_service(n, |s, _, cx| s.unsubscribe(None, cx));
                let (servers, _) = self.subscriptions_of(n);
                let servers: Vec<NodeId> =
                    servers.into_iter().filter(|s| !self.down[s.0 as usize]).collect();
                for server in servers {
                    self.with_service(server, |s, _, cx| s.unsubscribe(Some(n), cx));
                }
            }
            NodeState::Broker(_) => {
                self.with_broker(n, |b, spec, cx| b.crash(spec, cx));
            }
            NodeState::Log(l) => l.crash(),
        }
    }

    fn recover(&mut self, n: NodeId) {
        if !self.down[n.0 as usize] {
            return;
        }
        self.down[n.0 as usize] = false;
        self.trace.push(self.now, EventKind::Recovered { node: n });
        match self.nodes[n.0 as usize] {
            NodeState::Service(_) => {
                // Its outbox survived: the relay goes on.
                self.with_service(n, |s, _, cx| s.recover(cx));
                for (broker, queues) in self.consumed_by(n) {
                    self.with_broker(broker, |b, spec, cx| b.consumer_up(n, &queues, spec, cx));
                }
                for log in self.groups_of(n) {
                    self.rebalance(log);
                }
                // Clients reconnect: it to the servers that are up, and those up to it.
                let (servers, subscribers) = self.subscriptions_of(n);
                let servers: Vec<NodeId> =
                    servers.into_iter().filter(|s| !self.down[s.0 as usize]).collect();
                for server in servers {
                    let server = Some(server);
                    self.with_service(n, |s, spec, cx| s.open_subscriptions(server, spec, cx));
                }
                let subscribers: Vec<NodeId> =
                    subscribers.into_iter().filter(|c| !self.down[c.0 as usize]).collect();
                for client in subscribers {
                    let server = Some(n);
                    self.with_service(client, |s, spec, cx| s.open_subscriptions(server, spec, cx));
                }
            }
            NodeState::Broker(_) => {
                self.with_broker(n, |b, spec, cx| b.recover(spec, cx));
            }
            NodeState::Log(_) => {
                let down = self.down.clone();
                let up = move |n: NodeId| !down[n.0 as usize];
                self.with_log(n, |l, spec, cx| l.recover(&up, spec, cx));
            }
        }
    }

    /// A job for a service: taken in, or lost if the service is down.
    fn admit(&mut self, node: NodeId, job: Job) {
        if self.down[node.0 as usize] {
            self.trace.push(self.now, EventKind::JobLost { node, job: job.id });
        } else {
            self.with_service(node, |s, spec, cx| s.admit(job, spec, cx));
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Envelopes sent and not yet arrived, by id.
    pub fn in_flight(&self) -> impl Iterator<Item = &Envelope> {
        self.wire.values()
    }

    /// The time of the next event, if anything is due.
    pub fn next_due(&self) -> Option<SimTime> {
        self.agenda.peek().map(|e| e.at)
    }

    /// Messages a broker queue holds: (waiting, delivered and not yet acked).
    pub fn queue_holding(&self, queue: crate::scenario::QueueId) -> Option<(usize, usize)> {
        self.model.queue(queue)?;
        match self.nodes.get(queue.broker.0 as usize)? {
            NodeState::Broker(b) => Some(b.holding(queue)),
            NodeState::Service(_) | NodeState::Log(_) => None,
        }
    }

    /// A partition of a log's topic: (records appended, records committed).
    pub fn partition_holding(&self, topic: TopicId, partition: u32) -> Option<(u64, u64)> {
        match self.nodes.get(topic.log.0 as usize)? {
            NodeState::Log(l) => l.holding(topic, partition),
            NodeState::Service(_) | NodeState::Broker(_) => None,
        }
    }

    /// Processes exactly one event from the agenda, moving the clock to its time. Returns that
    /// time, or `None` when nothing is due.
    pub fn step(&mut self) -> Option<SimTime> {
        let entry = self.agenda.pop()?;
        self.now = self.now.max(entry.at);
        match entry.due {
            Due::Arrival(id) => self.arrive(id),
            Due::WorkDone { node, worker, epoch } => {
                if self.epoch_of(node) == Some(epoch) {
                    self.with_service(node, |s, spec, cx| s.work_done(worker, spec, cx));
                }
            }
            Due::Workload(w) => self.workload_arrival(w),
            Due::Timeout { node, request, epoch } => {
                if self.epoch_of(node) == Some(epoch) {
                    self.with_service(node, |s, spec, cx| s.timeout(request, spec, cx));
                }
            }
            Due::Retry { node, worker, epoch } => {
                if self.epoch_of(node) == Some(epoch) {
                    self.with_service(node, |s, spec, cx| s.retry(worker, spec, cx));
                }
            }
            Due::Fault(i) => {
                if let Some(&(_, d)) = self.model.faults.get(i as usize) {
                    // The model's faults were checked when it was validated.
                    let _ = self.disrupt(d);
                }
            }
        }
        Some(self.now)
    }

    /// Processes every event due up to and including `t`, then sets the clock to `t` (if it is
    /// not already later). Returns how many events ran.
    pub fn run_until(&mut self, t: SimTime) -> usize {
        let mut n = 0;
        while self.next_due().is_some_and(|at| at <= t) {
            self.step();
            n += 1;
        }
        self.now = self.now.max(t);
        n
    }

    /// Like [`Sim::run_until`], but runs at most `max_events` events. When that many ran and
    /// more are still due by `t`, the clock stays at the last event's time and the answer is
    /// `false`; otherwise the clock reaches `t` and the answer is `true`.
    pub fn run_until_bounded(&mut self, t: SimTime, max_events: usize) -> bool {
        let mut n = 0;
        while self.next_due().is_some_and(|at| at <= t) {
            if n == max_events {
                return false;
            }
            self.step();
            n += 1;
        }
        self.now = self.now.max(t);
        true
    }

    /// Processes events until nothing is due or `max_events` have run; returns how many ran.
    pub fn run_until_idle(&mut self, max_events: usize) -> usize {
        let mut n = 0;
        while n < max_events && self.step().is_some() {
            n += 1;
        }
        n
    }

    /// The reader starts a job on a service, now.
    pub fn trigger(&mut self, node: NodeId) -> Result<JobId, Error> {
        self.service_spec(node, "node")?;
        let job = self.new_job(Origin::Trigger);
        self.trace.push(self.now, EventKind::Triggered { node, job: job.id });
        self.admit(node, job);
        Ok(job.id)
    }

    /// Changes a link's latency for envelopes sent from now on; those on the wire keep theirs.
    pub fn set_link_latency(&mut self, link: LinkId, latency: LatencySpec) -> Result<(), Error> {
        let field = format!("links[{}].latency", link.0);
        let checked = latency.check(&field)?;
        let l = self
            .model
            .links
            .get_mut(link.0 as usize)
            .ok_or_else(|| Error::new("link", Problem::UnknownLink(link.0)))?;
        l.latency = checked;
        self.trace.push(self.now, EventKind::LinkLatencyChanged { link });
        Ok(())
    }

    /// Changes a service's processing time for work started from now on.
    pub fn set_processing(&mut self, node: NodeId, processing: LatencySpec) -> Result<(), Error> {
        let checked = processing.check(&format!("nodes[{}].processing", node.0))?;
        self.service_spec(node, "node")?;
        if let Role::Service(s) = &mut self.model.nodes[node.0 as usize].role {
            s.processing = checked;
        }
        self.trace.push(self.now, EventKind::ProcessingChanged { node });
        Ok(())
    }

    fn service_spec(&self, node: NodeId, field: &str) -> Result<&Service, Error> {
        match self.model.nodes.get(node.0 as usize).map(|n| &n.role) {
            Some(Role::Service(s)) => Ok(s),
            Some(Role::Broker(_) | Role::Log(_)) => {
                Err(Error::new(field, Problem::NotAService(self.model.node(node).id.clone())))
            }
            None => Err(Error::new(field, Problem::UnknownNode(format!("#{}", node.0)))),
        }
    }

    /// A workload's job arrives; the next one is scheduled unless that was its last.
    fn workload_arrival(&mut self, w: u16) {
        let Some(&load) = self.model.workloads.get(w as usize) else { return };
        let count = &mut self.arrived[w as usize];
        if load.count.is_some_and(|max| *count >= max) {
            return;
        }
        *count += 1;
        let more = load.count.is_none_or(|max| *count < max);

        let job = self.new_job(Origin::Trigger);
        let node = load.service;
        self.trace.push(self.now, EventKind::Arrived { node, job: job.id, workload: w });
        self.admit(node, job);

        let gap = match load.gap {
            Gap::Manual => return,
            Gap::Fixed(d) => d,
            Gap::Exponential(mean) => self.draw(Latency::Exponential(mean)),
        };
        if more {
            self.schedule(self.now + gap, Due::Workload(w));
        }
    }

    fn new_job(&mut self, origin: Origin) -> Job {
        let id = JobId(self.next_job);
        self.next_job += 1;
        Job { id, origin }
    }

    /// An envelope reaches its destination, which handles it.
    fn arrive(&mut self, id: MsgId) {
        let Some(env) = self.wire.remove(&id) else {
            debug_assert!(false, "arrival of an envelope that is not on the wire");
            return;
        };
        let ends = (env.from.min(env.to), env.from.max(env.to));
        let dropped = if self.lost.remove(&id) {
            Some(DropReason::LinkLoss)
        } else if self.partitions.contains(&ends) {
            Some(DropReason::Partition)
        } else if self.down[env.to.0 as usize] {
            Some(DropReason::NodeDown)
        } else {
            None
        };
        if let Some(reason) = dropped {
            self.trace.push(self.now, EventKind::Dropped { msg: id, node: env.to, reason });
            return;
        }
        self.trace.push(self.now, EventKind::Received { msg: id, node: env.to });

        let taken = match env.payload {
            Payload::HttpRequest { key, .. } => {
                let origin = Origin::Request { msg: id, from: env.from, link: env.link, key };
                let job = self.new_job(origin);
                self.admit(env.to, job);
                true
            }
            Payload::HttpResponse { request, ok } => self
                .with_service(env.to, |s, spec, cx| s.response(request, ok, spec, cx))
                .unwrap_or(false),
            Payload::Deliver { queue, message, tag, .. } => {
                let acked = self.model.queue(queue).is_some_and(|q| q.ack == AckMode::OnReceipt);
                let origin = Origin::Delivery {
                    broker: env.from,
                    link: env.link,
                    queue,
                    message,
                    tag,
                    acked,
                };
                let job = self.new_job(origin);
                self.admit(env.to, job);
                true
            }
            Payload::Publish { queue } => {
                let to = Route::Queue(queue);
                let p = Publish { id, message: id, from: env.from, link: env.link, to };
                self.with_broker(env.to, |b, spec, cx| b.publish(p, spec, cx));
                true
            }
            Payload::PublishTo { route, message } => {
                let p = Publish { id, message, from: env.from, link: env.link, to: route };
                self.with_broker(env.to, |b, spec, cx| b.publish(p, spec, cx));
                true
            }
            Payload::Ack { queue, tag, .. } => {
                self.with_broker(env.to, |b, spec, cx| b.ack(queue, tag, spec, cx)).unwrap_or(false)
            }
            Payload::Nack { queue, tag, .. } => self
                .with_broker(env.to, |b, spec, cx| b.nack(queue, tag, spec, cx))
                .unwrap_or(false),
            // A confirm that nobody waits for (fire and forget) is the end of the publish.
            Payload::Confirm { publish, ok } => {
                self.with_service(env.to, |s, spec, cx| s.confirm(publish, ok, spec, cx));
                true
            }
            Payload::Produce { topic, key } => {
                self.with_log(env.to, |l, spec, cx| l.produce(&env, topic, key, spec, cx));
                true
            }
            Payload::Produced { .. } => true,
            // A subscription is a connection: one from a client that has crashed since it
            // asked is gone, and the server takes nothing.
            Payload::Subscribe { .. } if self.down[env.from.0 as usize] => false,
            Payload::Subscribe { topic } => self
                .with_service(env.to, |s, _, cx| s.subscribe(topic, env.from, env.link, cx))
                .is_some(),
            Payload::Push { .. } => {
                let job = self.new_job(Origin::Push);
                self.admit(env.to, job);
                true
            }
            Payload::Record { topic, partition, offset, .. } => {
                let origin =
                    Origin::Record { log: env.from, link: env.link, topic, partition, offset };
                let job = self.new_job(origin);
                self.admit(env.to, job);
                true
            }
            Payload::Commit { topic, partition, offset } => {
                let down = self.down.clone();
                let up = move |n: NodeId| !down[n.0 as usize];
                self.with_log(env.to, |l, spec, cx| {
                    l.commit(env.from, (topic, partition, offset), &up, spec, cx)
                })
                .unwrap_or(false)
            }
        };
        if !taken {
            self.trace.push(self.now, EventKind::Discarded { msg: id, node: env.to });
        }
    }

    /// Runs a service's handler and applies its commands; the handler's answer, if the node
    /// is a service.
    fn with_service<T>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut ServiceState, &Service, &mut Ctx) -> T,
    ) -> Option<T> {
        let out = std::mem::take(&mut self.commands);
        let mut cx = Ctx { now: self.now, next_msg: &mut self.next_msg, out };
        let answer = match (self.nodes.get_mut(node.0 as usize), &self.model.node(node).role) {
            (Some(NodeState::Service(state)), Role::Service(spec)) => Some(f(state, spec, &mut cx)),
            _ => None,
        };
        let out = cx.out;
        self.apply(out);
        answer
    }

    /// Runs a broker's handler and applies its commands; the handler's answer, if the node is
    /// a broker.
    fn with_broker<T>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut BrokerState, &crate::scenario::Broker, &mut Ctx) -> T,
    ) -> Option<T> {
        let out = std::mem::take(&mut self.commands);
        let mut cx = Ctx { now: self.now, next_msg: &mut self.next_msg, out };
        let answer = match (self.nodes.get_mut(node.0 as usize), &self.model.node(node).role) {
            (Some(NodeState::Broker(state)), Role::Broker(spec)) => Some(f(state, spec, &mut cx)),
            _ => None,
        };
        let out = cx.out;
        self.apply(out);
        answer
    }

    /// Runs a log's handler and applies its commands; the handler's answer, if the node is a
    /// log.
    fn with_log<T>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut LogState, &Log, &mut Ctx) -> T,
    ) -> Option<T> {
        let out = std::mem::take(&mut self.commands);
        let mut cx = Ctx { now: self.now, next_msg: &mut self.next_msg, out };
        let answer = match (self.nodes.get_mut(node.0 as usize), &self.model.node(node).role) {
            (Some(NodeState::Log(state)), Role::Log(spec)) => Some(f(state, spec, &mut cx)),
            _ => None,
        };
        let out = cx.out;
        self.apply(out);
        answer
    }

    /// Carries out the handler's commands in order, and keeps the emptied list for the next
    /// handler: a run makes no allocation per event for it.
    fn apply(&mut self, mut commands: Vec<Command>) {
        for c in commands.drain(..) {
            match c {
                Command::Send { id, from, to, link, payload } => {
                    let latency = self.model.link(link).latency;
                    let arrives = self.now + self.draw(latency);
                    // Drawn only on a lossy link, so that a run without loss draws as before.
                    let loss = u64::from(self.loss[link.0 as usize]);
                    if loss > 0 && self.rng.between(0, 999) < loss {
                        self.lost.insert(id);
                    }
                    let env = Envelope { id, from, to, link, payload, sent: self.now, arrives };
                    self.wire.insert(id, env);
                    self.schedule(arrives, Due::Arrival(id));
                    self.trace.push(
                        self.now,
                        EventKind::Sent { msg: id, from, to, link, payload, arrives },
                    );
                }
                Command::Work { node, worker, job } => {
                    let Role::Service(spec) = &self.model.node(node).role else { continue };
                    let mut work = self.draw(spec.processing);
                    let percent = self.slow[node.0 as usize];
                    if percent != 100 {
                        let us = u128::from(work.as_micros()) * u128::from(percent) / 100;
                        work = SimDuration::from_micros(us as u64);
                    }
                    let until = self.now + work;
                    let epoch = self.epoch_of(node).unwrap_or(0);
                    self.schedule(until, Due::WorkDone { node, worker, epoch });
                    self.trace.push(self.now, EventKind::WorkStarted { node, worker, job, until });
                }
                Command::Timeout { node, request, after } => {
                    let epoch = self.epoch_of(node).unwrap_or(0);
                    self.schedule(self.now + after, Due::Timeout { node, request, epoch });
                }
                Command::Backoff { node, worker, job, attempt, base, jitter_per_mille } => {
                    let most = base.as_micros().saturating_mul(u64::from(jitter_per_mille)) / 1000;
                    // Drawn only with jitter, so that a run without it draws as before.
                    let extra = if most > 0 { self.rng.between(0, most) } else { 0 };
                    let wait = SimDuration::from_micros(base.as_micros() + extra);
                    let epoch = self.epoch_of(node).unwrap_or(0);
                    self.schedule(self.now + wait, Due::Retry { node, worker, epoch });
                    self.trace.push(
                        self.now,
                        EventKind::CallBackoff { node, worker, job, attempt, wait },
                    );
                }
                Command::Note(e) => self.trace.push(self.now, e),
            }
        }
        self.commands = commands;
    }

    fn schedule(&mut self, at: SimTime, due: Due) {
        self.agenda.push(Entry { at, seq: self.next_seq, due });
        self.next_seq += 1;
    }

    fn draw(&mut self, latency: Latency) -> SimDuration {
        match latency {
            Latency::Constant(d) => d,
            Latency::Uniform(lo, hi) => {
                SimDuration::from_micros(self.rng.between(lo.as_micros(), hi.as_micros()))
            }
            Latency::Exponential(mean) => {
                // Rounded to the nearest microsecond by adding a half and truncating: the draw
                // is never negative, and this is plain arithmetic, where `round` is a call into
                // the maths library on some targets (it took a twentieth of a run's time).
                let us = (self.rng.exponential(mean.as_micros() as f64) + 0.5) as u64;
                // Capped so that one unlucky draw cannot push an event past any horizon.
                // (The cap is figured without an overflow check, which in wasm is a call.)
                let cap = mean.as_micros().min(u64::MAX / 50) * 50;
                SimDuration::from_micros(us.min(cap))
            }
        }
    }
}
