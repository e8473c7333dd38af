//! Property tests: scenarios of random shapes (services, brokers, queues with competing
//! consumers, exchanges, steps, client policies, publish modes, a partitioned log with its
//! consumer groups, GraphQL-style subscriptions, faults, workloads) run to a
//! horizon with the invariants checked after every event, and the same seed giving the same
//! trace.
//!
//! Native only: proptest is a dev-dependency for native targets alone (see Cargo.toml), since
//! its `std` feature seeds from the operating system through `getrandom`, which on
//! wasm32-unknown-unknown needs a JavaScript backend chosen by a cfg flag. So this file
//! compiles to nothing in wasm; the scenario tests in `sim.rs` run in both.

#![cfg(not(target_arch = "wasm32"))]

mod checker;

use std::cell::RefCell;
use std::collections::BTreeMap;

use callflow_sim::scenario::{
    AckMode, Arrivals, BrokerSpec, ClientSpec, DeadLetterSpec, ExchangeSpec, Fault, FaultSpec,
    LatencySpec, LinkSpec, LogSpec, NodeSpec, Overflow, Partitioner, PublishMode, QueueSpec, Role,
    ServiceSpec, Step, SubscriptionSpec, TopicSpec, WorkloadSpec,
};
use callflow_sim::{
    Event, EventKind, NodeId, Payload, Protocol, Scenario, Sim, SimDuration, SimTime,
};
use checker::Checker;
use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// How far each run goes, and at most how many agenda entries it takes to get there.
const HORIZON_MS: u64 = 4_000;
const MAX_EVENTS: usize = 6_000;

/// Choices read one at a time from a list proptest draws and shrinks: a shorter list, or
/// smaller numbers, make a smaller scenario, so a failure shrinks to a small one.
struct Choices {
    list: Vec<u32>,
    at: usize,
}

impl Choices {
    /// A number below `n` (0 once the list runs out).
    fn below(&mut self, n: u32) -> u32 {
        let c = self.list.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        if n == 0 {
            0
        } else {
            c % n
        }
    }

    fn chance(&mut self, in_four: u32) -> bool {
        self.below(4) < in_four
    }

    fn ms(&mut self, most: u32) -> f64 {
        f64::from(self.below(most + 1))
    }

    fn latency(&mut self, most: u32) -> LatencySpec {
        match self.below(3) {
            0 => LatencySpec::Constant { ms: self.ms(most) },
            1 => {
                let lo = self.ms(most);
                LatencySpec::Uniform { min_ms: lo, max_ms: lo + self.ms(most) }
            }
            _ => LatencySpec::Exponential { mean_ms: self.ms(most) + 1.0 },
        }
    }

    /// Some of `0..n`, at least one, in order.
    fn some_of(&mut self, n: usize) -> Vec<usize> {
        let mut out: Vec<usize> = (0..n).filter(|_| self.chance(2)).collect();
        if out.is_empty() {
            out.push(self.below(n as u32) as usize);
        }
        out
    }
}

fn service_id(i: usize) -> String {
    format!("s{i}")
}

fn broker_id(k: usize) -> String {
    format!("k{k}")
}

/// Where a publish may go: a queue or an exchange, by broker and name, and the services that
/// would get it.
struct Target {
    broker: usize,
    queue: Option<String>,
    exchange: Option<String>,
    consumers: Vec<usize>,
}

/// A scenario of random shape. Calls and publishes only go to services later in the list, so
/// that no job can start itself again, through others, without end.
fn scenario(choices: Vec<u32>) -> Scenario {
    let mut c = Choices { list: choices, at: 0 };
    let services = 2 + c.below(4) as usize;
    let brokers = 1 + c.below(2) as usize;

    // Brokers first: their queues and exchanges say where publishes may go.
    let mut broker_specs = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    for k in 0..brokers {
        let count = 1 + c.below(3) as usize;
        let mut queues = Vec::new();
        let mut consumers_of = Vec::new();
        for q in 0..count {
            let consumers = c.some_of(services);
            let mut spec = QueueSpec {
                name: format!("q{q}"),
                prefetch: 1 + c.below(3),
                max_length: c.chance(1).then(|| 1 + c.below(4)),
                overflow: if c.chance(2) { Overflow::RejectPublish } else { Overflow::DropOldest },
                ack: if c.chance(1) { AckMode::OnReceipt } else { AckMode::AfterWork },
                ..QueueSpec::default()
            };
            if consumers.len() == 1 && c.chance(2) {
                spec.consumer = service_id(consumers[0]);
            } else {
                spec.consumers = consumers.iter().map(|&s| service_id(s)).collect();
            }
            if count > 1 && c.chance(3) {
                let to = (q + 1 + c.below(count as u32 - 1) as usize) % count;
                spec.dead_letter = Some(DeadLetterSpec {
                    queue: format!("q{to}"),
                    after_deliveries: 1 + c.below(2),
                });
            }
            targets.push(Target {
                broker: k,
                queue: Some(spec.name.clone()),
                exchange: None,
                consumers: consumers.clone(),
            });
            consumers_of.push(consumers);
            queues.push(spec);
        }
        let mut exchanges = Vec::new();
        for x in 0..c.below(3) as usize {
            let bound = c.some_of(count);
            targets.push(Target {
                broker: k,
                queue: None,
                exchange: Some(format!("x{x}")),
                consumers: bound.iter().flat_map(|&q| consumers_of[q].clone()).collect(),
            });
            exchanges.push(ExchangeSpec {
                name: format!("x{x}"),
                queues: bound.iter().map(|q| format!("q{q}")).collect(),
            });
        }
        broker_specs.push(NodeSpec::Broker(BrokerSpec {
            id: broker_id(k),
            label: format!("Broker {k}"),
            queues,
            exchanges,
        }));
    }

    // A log, most of the time, with a topic or two, each read by a group of services.
    let mut topics: Vec<(String, Vec<usize>)> = Vec::new();
    let log = c.chance(3).then(|| {
        let specs: Vec<TopicSpec> = (0..1 + c.below(2))
            .map(|t| {
                let consumers = c.some_of(services);
                topics.push((format!("t{t}"), consumers.clone()));
                TopicSpec {
                    name: format!("t{t}"),
                    partitions: 1 + c.below(4),
                    partitioner: if c.chance(2) {
                        Partitioner::ByKey
                    } else {
                        Partitioner::RoundRobin
                    },
                    consumers: consumers.iter().map(|&s| service_id(s)).collect(),
                }
            })
            .collect();
        NodeSpec::Log(LogSpec { id: "l0".into(), label: "Log".into(), topics: specs })
    });
    // The topics each service notifies, as its services are made.
    let mut notifies: Vec<Vec<String>> = Vec::new();

    let mut nodes = Vec::new();
    for i in 0..services {
        let steps = |c: &mut Choices| -> Vec<Step> {
            (0..1 + c.below(3))
                .map(|_| match c.below(3) {
                    1 if i + 1 < services => Step::Call {
                        service: service_id(i + 1 + c.below((services - i - 1) as u32) as usize),
                    },
                    2 => {
                        let allowed: Vec<&Target> =
                            targets.iter().filter(|t| t.consumers.iter().all(|&s| s > i)).collect();
                        if allowed.is_empty() {
                            return Step::Work;
                        }
                        let t = allowed[c.below(allowed.len() as u32) as usize];
                        let mode = match c.below(3) {
                            0 => PublishMode::FireAndForget,
                            1 => PublishMode::AwaitConfirm { timeout_ms: 20.0 + c.ms(300) },
                            _ => PublishMode::Outbox { retry_ms: 20.0 + c.ms(300) },
                        };
                        Step::Publish {
                            broker: broker_id(t.broker),
                            queue: t.queue.clone().unwrap_or_default(),
                            exchange: t.exchange.clone(),
                            mode,
                        }
                    }
                    _ => Step::Work,
                })
                .collect()
        };
        let mut on_trigger = steps(&mut c);
        let mut on_request = steps(&mut c);
        let on_message = steps(&mut c);
        // A record for a topic read only by later services, and an event for subscribers.
        let readable: Vec<&(String, Vec<usize>)> =
            topics.iter().filter(|(_, cs)| cs.iter().all(|&s| s > i)).collect();
        if !readable.is_empty() && c.chance(2) {
            let (topic, _) = readable[c.below(readable.len() as u32) as usize];
            let keys = 1 + c.below(4);
            on_trigger.push(Step::Produce { log: "l0".into(), topic: topic.clone(), keys });
        }
        let mut notified = Vec::new();
        if c.chance(1) {
            let topic = format!("n{}", c.below(2));
            on_request.insert(0, Step::Notify { topic: topic.clone() });
            notified.push(topic);
        }
        // Subscriptions only to earlier services, whose pushes therefore go on down the list.
        let subscribe = (0..i)
            .filter(|&s| !notifies[s].is_empty() && c.chance(2))
            .map(|s| SubscriptionSpec { server: service_id(s), topic: notifies[s][0].clone() })
            .collect();
        notifies.push(notified);
        let client = if c.chance(2) {
            ClientSpec {
                timeout_ms: Some(10.0 + c.ms(300)),
                retries: c.below(3),
                backoff_ms: c.ms(100),
                jitter: f64::from(c.below(5)) / 4.0,
                idempotency_key: c.chance(2),
            }
        } else {
            ClientSpec::default()
        };
        nodes.push(NodeSpec::Service(ServiceSpec {
            id: service_id(i),
            label: format!("Service {i}"),
            workers: 1 + c.below(3),
            processing: c.latency(200),
            on_trigger,
            on_request,
            on_message,
            client,
            idempotent_consumer: c.chance(2),
            subscribe,
        }));
    }
    nodes.extend(broker_specs);
    let has_log = log.is_some();
    nodes.extend(log);

    // Every pair of services talks HTTP, every service talks AMQP with every broker.
    let mut links = Vec::new();
    for i in 0..services {
        for j in i + 1..services {
            let latency = c.latency(60);
            links.push(LinkSpec {
                a: service_id(i),
                b: service_id(j),
                protocol: Protocol::Http,
                latency,
            });
        }
        for k in 0..brokers {
            let latency = c.latency(60);
            links.push(LinkSpec {
                a: service_id(i),
                b: broker_id(k),
                protocol: Protocol::Amqp,
                latency,
            });
        }
        if has_log {
            let latency = c.latency(60);
            links.push(LinkSpec {
                a: service_id(i),
                b: "l0".into(),
                protocol: Protocol::Kafka,
                latency,
            });
        }
        for (j, notified) in notifies.iter().enumerate().take(i) {
            if !notified.is_empty() {
                let latency = c.latency(60);
                links.push(LinkSpec {
                    a: service_id(j),
                    b: service_id(i),
                    protocol: Protocol::WebSocket,
                    latency,
                });
            }
        }
    }

    let workloads = (0..c.below(3))
        .map(|_| WorkloadSpec {
            service: service_id(c.below(services as u32) as usize),
            arrivals: if c.chance(2) {
                Arrivals::Fixed { every_ms: 50.0 + c.ms(400) }
            } else {
                Arrivals::Poisson { per_s: 1.0 + c.ms(20) }
            },
            count: Some(1 + u64::from(c.below(15))),
        })
        .collect();

    // Faults come with their end: a crash with its recovery, a cut with its healing, a lossy
    // link with its repair, each a while later.
    let names: Vec<String> = nodes.iter().map(|n| n.id().to_string()).collect();
    let mut faults = Vec::new();
    for _ in 0..c.below(7) {
        let at_ms = c.ms(HORIZON_MS as u32);
        let end_ms = at_ms + 50.0 + c.ms(1_000);
        let a = names[c.below(names.len() as u32) as usize].clone();
        let b = names[c.below(names.len() as u32) as usize].clone();
        let (fault, end) = match c.below(3) {
            1 if a != b => (Fault::Partition { a: a.clone(), b: b.clone() }, Fault::Heal { a, b }),
            2 if links.iter().any(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a)) => (
                Fault::LinkLoss { a: a.clone(), b: b.clone(), share: f64::from(c.below(5)) / 4.0 },
                Fault::LinkLoss { a, b, share: 0.0 },
            ),
            _ => (Fault::Crash { node: a.clone() }, Fault::Recover { node: a }),
        };
        faults.push(FaultSpec { at_ms, fault });
        faults.push(FaultSpec { at_ms: end_ms, fault: end });
    }

    Scenario {
        name: "random".into(),
        seed: u64::from(c.below(u32::MAX)),
        nodes,
        links,
        workloads,
        faults,
    }
}

/// Runs the scenario to the horizon, with a trigger on each service in turn every 100 ms, and
/// checks the invariants after every event. Returns the trace.
fn run_checked(s: &Scenario) -> Vec<Event> {
    let model = s.validate().expect("the shape is valid");
    let services = model.nodes.iter().filter(|n| matches!(n.role, Role::Service(_))).count();
    let mut sim = Sim::from_model(model, 100_000);
    let mut checker = Checker::default();
    let mut events = 0;
    'run: for (k, t) in (0..=HORIZON_MS).step_by(100).enumerate() {
        let until = SimTime::ZERO + SimDuration::from_millis(t);
        while sim.next_due().is_some_and(|at| at <= until) {
            if events == MAX_EVENTS {
                break 'run;
            }
            sim.step();
            events += 1;
            checker.feed(&sim);
        }
        // Nothing is due before `until` any more: this only moves the clock.
        sim.run_until(until);
        sim.trigger(NodeId((k % services) as u16)).expect("services come first in the nodes");
        checker.feed(&sim);
    }
    assert_eq!(sim.trace().first_kept(), 0);
    sim.trace().since(0).cloned().collect()
}

#[test]
fn invariants_hold_in_scenarios_of_random_shape_and_the_seed_fixes_the_trace() {
    // A fixed seed for proptest too, and no files of failures: every run checks the same
    // cases, and a failure prints its shrunk list of choices, which `scenario` turns back into
    // the scenario.
    let config = Config { cases: 256, failure_persistence: None, ..Config::default() };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    // What the runs met, by kind of event, so that the checks are known to have seen it.
    let met: RefCell<BTreeMap<&'static str, usize>> = RefCell::default();
    let result = runner.run(&vec(any::<u32>(), 0..300), |choices| {
        let s = scenario(choices);
        let once = run_checked(&s);
        let again = run_checked(&s);
        for e in &once {
            *met.borrow_mut().entry(kind(&e.kind)).or_default() += 1;
        }
        proptest::prop_assert_eq!(once, again, "the same seed, the same trace");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let met = met.into_inner();
    for want in [
        "redelivered",
        "nacked",
        "dead-lettered",
        "overflowed",
        "duplicate skipped",
        "publish failed",
        "outbox relayed",
        "publish confirmed",
        "dropped",
        "committed",
        "record redelivered",
        "pushed",
        "unsubscribed",
    ] {
        assert!(met.contains_key(want), "no run had a {want} event: {met:?}");
    }
}

/// A name for the kinds of events the property test wants to have met.
fn kind(e: &EventKind) -> &'static str {
    match e {
        EventKind::Sent { payload: Payload::Deliver { redelivered: true, .. }, .. } => {
            "redelivered"
        }
        EventKind::Nacked { .. } => "nacked",
        EventKind::DeadLettered { .. } => "dead-lettered",
        EventKind::Overflowed { .. } => "overflowed",
        EventKind::DuplicateSkipped { .. } => "duplicate skipped",
        EventKind::PublishFailed { .. } => "publish failed",
        EventKind::OutboxRelayed { .. } => "outbox relayed",
        EventKind::PublishConfirmed { .. } => "publish confirmed",
        EventKind::Dropped { .. } => "dropped",
        EventKind::Committed { .. } => "committed",
        EventKind::Sent { payload: Payload::Record { redelivered: true, .. }, .. } => {
            "record redelivered"
        }
        EventKind::Sent { payload: Payload::Push { .. }, .. } => "pushed",
        EventKind::Unsubscribed { .. } => "unsubscribed",
        _ => "other",
    }
}
