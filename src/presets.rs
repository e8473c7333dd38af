//! Presets that teach: a figure's start model set up to ask one question about a failure
//! (faults at their times, a client's policy, a workload), the question itself, and the
//! answer, written from the finished run's trace. The answer says what the run did, so a
//! reader who changes the settings and runs again reads what happened then, even where it is
//! not what the preset meant to show. Pure logic, tested natively through the simulator.

use std::collections::BTreeMap;

use callflow_sim::scenario::{
    Arrivals, ClientSpec, Fault, FaultSpec, NodeSpec, PublishMode, ServiceSpec, Step, WorkloadSpec,
};
use callflow_sim::trace::DropReason;
use callflow_sim::{Event, EventKind, Model, NodeId, Payload, Scenario, SimDuration, SimTime};

use crate::catalog::FigureKind;
use crate::playback::{slowness, Input, Moment, Playback, Timed};

/// One preset of the failure lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Figure 3: C is down when B publishes for it.
    CDown,
    /// Figure 3: the broker is down when B publishes, and B fires and forgets.
    BrokerDownHybrid,
    /// The same, but B waits for the broker's confirm before it answers A.
    BrokerDownConfirm,
    /// The same, but B keeps the message in an outbox that its relay publishes.
    BrokerDownOutbox,
    /// Figure 1: B works ten times slower.
    SlowSync,
    /// Figure 1: A's client times out and retries, without an idempotency key.
    Retry,
    /// Figure 1: the same, with a key.
    RetryKey,
    /// Figure 2: B works ten times slower.
    SlowAsync,
    /// Figure 2: the broker is down when A publishes.
    BrokerDown,
    /// Figure 2: A publishes faster than B can handle.
    SlowConsumer,
    /// Figure 2: B crashes while it holds the message, before its ack.
    Redelivery,
    /// Figure 4: the subscriber is down when the mutation's event is pushed.
    SubscriberDown,
    /// Figure 5: one of the log's two consumers crashes while records keep coming.
    LogConsumerCrash,
}

impl Preset {
    pub const ALL: [Preset; 13] = [
        Preset::SlowSync,
        Preset::Retry,
        Preset::RetryKey,
        Preset::SlowAsync,
        Preset::BrokerDown,
        Preset::SlowConsumer,
        Preset::Redelivery,
        Preset::CDown,
        Preset::BrokerDownHybrid,
        Preset::BrokerDownConfirm,
        Preset::BrokerDownOutbox,
        Preset::SubscriberDown,
        Preset::LogConsumerCrash,
    ];

    /// The presets of one figure, in the order the page offers them.
    pub fn of(kind: FigureKind) -> impl Iterator<Item = Preset> {
        Preset::ALL.into_iter().filter(move |p| p.figure() == kind)
    }

    /// The name a link gives it: `preset=c-down`.
    pub fn slug(self) -> &'static str {
        match self {
            Preset::CDown => "c-down",
            Preset::BrokerDownHybrid => "broker-down-b",
            Preset::BrokerDownConfirm => "broker-down-b-confirm",
            Preset::BrokerDownOutbox => "broker-down-b-outbox",
            Preset::SlowSync => "slow-b-sync",
            Preset::Retry => "retry",
            Preset::RetryKey => "retry-key",
            Preset::SlowAsync => "slow-b-async",
            Preset::BrokerDown => "broker-down",
            Preset::SlowConsumer => "slow-consumer",
            Preset::Redelivery => "redelivery",
            Preset::SubscriberDown => "subscriber-down",
            Preset::LogConsumerCrash => "log-consumer-crash",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.slug() == slug)
    }

    pub fn figure(self) -> FigureKind {
        match self {
            Preset::CDown
            | Preset::BrokerDownHybrid
            | Preset::BrokerDownConfirm
            | Preset::BrokerDownOutbox => FigureKind::Hybrid,
            Preset::SlowSync | Preset::Retry | Preset::RetryKey => FigureKind::RequestResponse,
            Preset::SlowAsync | Preset::BrokerDown | Preset::SlowConsumer | Preset::Redelivery => {
                FigureKind::Broker
            }
            Preset::SubscriberDown => FigureKind::GraphQl,
            Preset::LogConsumerCrash => FigureKind::Log,
        }
    }

    /// A short name, for its button.
    pub fn title(self) -> &'static str {
        match self {
            Preset::CDown => "C is down",
            Preset::BrokerDownHybrid => "Broker down when B publishes",
            Preset::BrokerDownConfirm => "…and B waits for the confirm",
            Preset::BrokerDownOutbox => "…and B uses an outbox",
            Preset::SlowSync | Preset::SlowAsync => "B is slow",
            Preset::Retry => "Timeout and retry",
            Preset::RetryKey => "Retry with an idempotency key",
            Preset::BrokerDown => "Broker down",
            Preset::SlowConsumer => "Consumer slower than producer",
            Preset::Redelivery => "B crashes before its ack",
            Preset::SubscriberDown => "C is down",
            Preset::LogConsumerCrash => "B1 crashes",
        }
    }

    /// What the reader is asked before the run.
    pub fn question(self) -> &'static str {
        match self {
            Preset::CDown => {
                "C has crashed, and comes back at 3 s. A calls B, which publishes a message for C \
                 and answers A. Does A still get its reply? What becomes of the message for C?"
            }
            Preset::BrokerDownHybrid => {
                "The broker is down until 2 s. A calls B, which publishes a message for C and \
                 answers A. Does A get its reply? Does C get the message?"
            }
            Preset::BrokerDownConfirm => {
                "The broker is down until 2 s. This time B does its work, publishes, and waits \
                 up to 300 ms for the broker's confirm before it answers A. What does A hear? \
                 Was B's work done? Does C get the message?"
            }
            Preset::BrokerDownOutbox => {
                "The broker is down until 2 s. This time B stores the message in an outbox, \
                 with its own data, and answers A at once; B's relay publishes it, again every \
                 500 ms, until the broker confirms. What does A hear? Does C get the message?"
            }
            Preset::SlowSync => {
                "B works ten times slower than usual. What happens to A's waiting time?"
            }
            Preset::Retry => {
                "A gives up on an attempt after 300 ms and tries again, at most twice; B needs \
                 400 ms. How many times does B do the work for A's one call?"
            }
            Preset::RetryKey => {
                "The same timeout and retries, but every attempt carries the call's idempotency \
                 key. How many times does B do the work now, and does A get its reply?"
            }
            Preset::SlowAsync => {
                "B works ten times slower than usual, and A reaches it through the broker. What \
                 happens to A's waiting time?"
            }
            Preset::BrokerDown => {
                "The broker is down until 2 s, and A publishes at once. Does A notice? What \
                 becomes of its message?"
            }
            Preset::SlowConsumer => {
                "A publishes a message every 300 ms, ten in all; B needs 900 ms for each. What \
                 happens to the queue?"
            }
            Preset::Redelivery => {
                "B crashes at 500 ms, while it works on the message and before its ack, and is \
                 back at 1.5 s. Is the message lost?"
            }
            Preset::SubscriberDown => {
                "C is down when A's mutation runs, and comes back at 1.5 s. Does A get its \
                 answer? Does C ever hear of the order?"
            }
            Preset::LogConsumerCrash => {
                "A produces a record every 200 ms, twelve in all. B1 crashes at 1 s and is back \
                 at 4 s. Is any record lost? Is any handled twice? Are each customer's records \
                 still handled in order?"
            }
        }
    }

    /// The figure's scenario as the preset changes it.
    pub fn scenario(self) -> Scenario {
        let mut s = self.figure().scenario();
        let fault = |at_ms: f64, fault: Fault| FaultSpec { at_ms, fault };
        let node = |id: &str| id.to_string();
        match self {
            Preset::CDown => {
                s.faults = vec![
                    fault(0.0, Fault::Crash { node: node("c") }),
                    fault(3000.0, Fault::Recover { node: node("c") }),
                ];
            }
            Preset::BrokerDownHybrid
            | Preset::BrokerDown
            | Preset::BrokerDownConfirm
            | Preset::BrokerDownOutbox => {
                s.faults = vec![
                    fault(0.0, Fault::Crash { node: node("broker") }),
                    fault(2000.0, Fault::Recover { node: node("broker") }),
                ];
                let mode = match self {
                    Preset::BrokerDownConfirm => PublishMode::AwaitConfirm { timeout_ms: 300.0 },
                    Preset::BrokerDownOutbox => PublishMode::Outbox { retry_ms: 500.0 },
                    _ => PublishMode::FireAndForget,
                };
                if let Some(b) = service(&mut s, "b") {
                    for step in &mut b.on_request {
                        if let Step::Publish { mode: m, .. } = step {
                            *m = mode;
                        }
                    }
                }
            }
            Preset::SlowSync | Preset::SlowAsync => {
                s.faults = vec![fault(0.0, Fault::Slow { node: node("b"), percent: 1000 })];
            }
            Preset::Retry | Preset::RetryKey => {
                if let Some(a) = service(&mut s, "a") {
                    a.client = ClientSpec {
                        timeout_ms: Some(300.0),
                        retries: 2,
                        backoff_ms: 100.0,
                        jitter: 0.0,
                        idempotency_key: self == Preset::RetryKey,
                    };
                }
            }
            Preset::SlowConsumer => {
                s.workloads = vec![WorkloadSpec {
                    service: "a".into(),
                    arrivals: Arrivals::Fixed { every_ms: 300.0 },
                    count: Some(10),
                }];
            }
            Preset::Redelivery => {
                s.faults = vec![
                    fault(500.0, Fault::Crash { node: node("b") }),
                    fault(1500.0, Fault::Recover { node: node("b") }),
                ];
            }
            Preset::SubscriberDown => {
                s.faults = vec![
                    fault(0.0, Fault::Crash { node: node("c") }),
                    fault(1500.0, Fault::Recover { node: node("c") }),
                ];
            }
            Preset::LogConsumerCrash => {
                s.workloads = vec![WorkloadSpec {
                    service: "a".into(),
                    arrivals: Arrivals::Fixed { every_ms: 200.0 },
                    count: Some(12),
                }];
                s.faults = vec![
                    fault(1000.0, Fault::Crash { node: node("b1") }),
                    fault(4000.0, Fault::Recover { node: node("b1") }),
                ];
            }
        }
        s
    }

    /// The start model of the preset's run.
    pub fn model(self) -> Model {
        self.scenario().validate().expect("presets are valid: their tests run them")
    }

    /// What the reader does in the preset's run: A starts one job at 0 ms, unless a workload
    /// brings the jobs.
    pub fn inputs(self) -> Vec<Timed> {
        match self {
            Preset::SlowConsumer | Preset::LogConsumerCrash => Vec::new(),
            _ => vec![Timed { moment: Moment { at: SimTime::ZERO, seq: None }, input: Input::Act }],
        }
    }

    /// The answer for a finished run, from its trace; `None` while the run goes on.
    pub fn answer_for(self, p: &Playback) -> Option<String> {
        if !p.finished() {
            return None;
        }
        let trace = p.sim().trace();
        if trace.first_kept() > 0 {
            return Some(
                "This run is longer than the trace keeps, so it cannot be answered from its \
                 events: press Reset and run the preset again."
                    .into(),
            );
        }
        if let Some(changed) = self.departure(p) {
            return Some(format!(
                "You changed this run ({changed}), so it is no longer the one the question is \
                 about, and this page will not guess an answer for it: the sequence diagram and \
                 the numbers say what happened. Choose the preset again to run it as it was set \
                 up."
            ));
        }
        let events: Vec<Event> = trace.since(0).cloned().collect();
        Some(self.answer(p.sim().model(), &events))
    }

    /// How the reader's run differs from the preset's, beyond settings (whose effect the
    /// answers read from the trace): more actions, faults, another workload.
    fn departure(self, p: &Playback) -> Option<String> {
        let own: Vec<Input> = self.inputs().iter().map(|t| t.input).collect();
        let done: Vec<Input> =
            p.inputs().iter().map(|t| t.input).filter(|i| !matches!(i, Input::Set(..))).collect();
        let mut changes = Vec::new();
        if done != own {
            let acts = done.iter().filter(|i| matches!(i, Input::Act)).count();
            let own_acts = own.iter().filter(|i| matches!(i, Input::Act)).count();
            let faults = done.iter().filter(|i| matches!(i, Input::Disrupt(_))).count();
            match acts.cmp(&own_acts) {
                std::cmp::Ordering::Greater => changes.push(match acts - own_acts {
                    1 => "one more action".to_string(),
                    n => format!("{n} more actions"),
                }),
                std::cmp::Ordering::Less => changes.push("fewer actions".to_string()),
                std::cmp::Ordering::Equal => {}
            }
            match faults {
                0 => {}
                1 => changes.push("a fault of your own".into()),
                n => changes.push(format!("{n} faults of your own")),
            }
        }
        if p.start().workloads != self.model().workloads {
            changes.push("another workload".into());
        }
        (!changes.is_empty()).then(|| changes.join(", "))
    }

    /// The answer for a finished run with these events.
    pub fn answer(self, model: &Model, events: &[Event]) -> String {
        let run = Run::new(model, events);
        match self {
            Preset::CDown => run.c_down(),
            Preset::BrokerDownHybrid => run.broker_down_for_c(),
            Preset::BrokerDownConfirm => run.broker_down_confirm(),
            Preset::BrokerDownOutbox => run.broker_down_outbox(),
            Preset::SlowSync => run.slow_sync(),
            Preset::Retry | Preset::RetryKey => run.retries(),
            Preset::SlowAsync => run.slow_async(),
            Preset::BrokerDown => run.broker_down_for_a(),
            Preset::SlowConsumer => run.slow_consumer(),
            Preset::Redelivery => run.redelivery(),
            Preset::SubscriberDown => run.subscriber_down(model),
            Preset::LogConsumerCrash => run.log_consumer_crash(model),
        }
    }
}

/// How often, in words: once, twice, 3 times.
fn times(n: usize) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

fn service<'a>(s: &'a mut Scenario, id: &str) -> Option<&'a mut ServiceSpec> {
    s.nodes.iter_mut().find_map(|n| match n {
        NodeSpec::Service(x) if x.id == id => Some(x),
        _ => None,
    })
}

/// The facts of a finished run that the answers are made of.
struct Run<'a> {
    events: &'a [Event],
    a: NodeId,
    b: NodeId,
    c: Option<NodeId>,
    broker: Option<NodeId>,
}

/// How A's call ended.
enum Call {
    Answered { waited: SimDuration },
    Failed { attempts: u32 },
    Open,
}

impl<'a> Run<'a> {
    fn new(model: &Model, events: &'a [Event]) -> Run<'a> {
        let id = |name| model.node_named(name);
        Run {
            events,
            // Every figure has an A and a B.
            a: id("a").unwrap_or(NodeId(0)),
            b: id("b").unwrap_or(NodeId(1)),
            c: id("c"),
            broker: id("broker"),
        }
    }

    fn kinds(&self) -> impl Iterator<Item = (SimTime, &'a EventKind)> {
        self.events.iter().map(|e| (e.at, &e.kind))
    }

    /// Whether A started anything: the reader's action or a workload's job.
    fn a_started(&self) -> bool {
        self.kinds().any(|(_, k)| {
            matches!(k, EventKind::Triggered { node, .. } | EventKind::Arrived { node, .. } if *node == self.a)
        })
    }

    /// How A's first call ended.
    fn a_call(&self) -> Call {
        for (_, k) in self.kinds() {
            match *k {
                EventKind::CallReturned { node, waited, ok: true, .. } if node == self.a => {
                    return Call::Answered { waited };
                }
                EventKind::CallFailed { node, attempts, .. } if node == self.a => {
                    return Call::Failed { attempts };
                }
                _ => {}
            }
        }
        Call::Open
    }

    /// When `node` crashed and recovered, in order: (time, down).
    fn ups_and_downs(&self, node: NodeId) -> Vec<(SimTime, bool)> {
        self.kinds()
            .filter_map(|(at, k)| match *k {
                EventKind::Crashed { node: n } if n == node => Some((at, true)),
                EventKind::Recovered { node: n } if n == node => Some((at, false)),
                _ => None,
            })
            .collect()
    }

    fn down_at(&self, node: NodeId, t: SimTime) -> bool {
        self.ups_and_downs(node).iter().take_while(|(at, _)| *at <= t).last().is_some_and(|x| x.1)
    }

    /// The first recovery of `node` after `t`.
    fn back_after(&self, node: NodeId, t: SimTime) -> Option<SimTime> {
        self.ups_and_downs(node).into_iter().find(|(at, down)| *at >= t && !down).map(|x| x.0)
    }

    /// The publishes `from` sent: (time, message).
    fn publishes(&self, from: NodeId) -> Vec<(SimTime, callflow_sim::MsgId)> {
        self.kinds()
            .filter_map(|(at, k)| match *k {
                EventKind::Sent { msg, from: f, payload: Payload::Publish { .. }, .. }
                    if f == from =>
                {
                    Some((at, msg))
                }
                _ => None,
            })
            .collect()
    }

    /// When the message was dropped, and why, if it was.
    fn dropped(&self, msg: callflow_sim::MsgId) -> Option<(SimTime, DropReason)> {
        self.kinds().find_map(|(at, k)| match *k {
            EventKind::Dropped { msg: m, reason, .. } if m == msg => Some((at, reason)),
            _ => None,
        })
    }

    /// When the message was stored in its queue, if it was.
    fn stored(&self, msg: callflow_sim::MsgId) -> Option<SimTime> {
        self.kinds().find_map(|(at, k)| match *k {
            EventKind::Enqueued { message, .. } if message == msg => Some(at),
            _ => None,
        })
    }

    /// When a delivery of the message reached its consumer, each time it did.
    fn deliveries(&self, msg: callflow_sim::MsgId) -> Vec<SimTime> {
        let sent: Vec<callflow_sim::MsgId> =
            self.kinds()
                .filter_map(|(_, k)| match *k {
                    EventKind::Sent {
                        msg: d, payload: Payload::Deliver { message, .. }, ..
                    } if message == msg => Some(d),
                    _ => None,
                })
                .collect();
        self.kinds()
            .filter_map(|(at, k)| match *k {
                EventKind::Received { msg: d, .. } if sent.contains(&d) => Some(at),
                _ => None,
            })
            .collect()
    }

    fn acked(&self, msg: callflow_sim::MsgId) -> Option<SimTime> {
        self.kinds().find_map(|(at, k)| match *k {
            EventKind::Acked { message, .. } if message == msg => Some(at),
            _ => None,
        })
    }

    /// Each piece of work `node` started: (start, how long).
    fn works(&self, node: NodeId) -> Vec<(SimTime, SimDuration)> {
        self.kinds()
            .filter_map(|(at, k)| match *k {
                EventKind::WorkStarted { node: n, until, .. } if n == node => {
                    Some((at, until - at))
                }
                _ => None,
            })
            .collect()
    }

    fn slowed(&self, node: NodeId) -> Option<u32> {
        self.kinds()
            .filter_map(|(_, k)| match *k {
                EventKind::Slowed { node: n, percent } if n == node => Some(percent),
                _ => None,
            })
            .last()
            .filter(|p| *p != 100)
    }

    fn nothing_started(&self) -> Option<String> {
        (!self.a_started()).then(|| {
            "A started nothing in this run, so there is nothing to answer: press the figure's \
             button, then Play."
                .to_string()
        })
    }

    fn c_down(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let Some(c) = self.c else { return String::new() };
        let mut out = match self.a_call() {
            Call::Answered { waited } => {
                format!("Yes: A got its reply after {waited}; B did not wait for C.")
            }
            Call::Failed { attempts } => {
                format!("No: A's call failed after {attempts} attempts.")
            }
            Call::Open => "No: A got no reply; its call is still open.".into(),
        };
        let Some(&(at, msg)) = self.publishes(self.b).first() else {
            out.push_str(" B never published a message for C.");
            return out;
        };
        let Some(stored) = self.stored(msg) else {
            out.push_str(&format!(
                " B's message for C, published at {at}, never reached the broker's queue."
            ));
            return out;
        };
        match (self.down_at(c, stored), self.deliveries(msg).first()) {
            (true, Some(&got)) => {
                let back = self.back_after(c, stored).unwrap_or(got);
                out.push_str(&format!(
                    " The message for C waited in the queue from {stored}, while C was down, \
                     until C came back at {back}; C got it at {got}."
                ));
            }
            (true, None) => out.push_str(&format!(
                " The message for C has waited in the queue since {stored}: C is still down."
            )),
            (false, Some(&got)) => out.push_str(&format!(
                " C was up when the message was stored at {stored}, and got it at {got}."
            )),
            (false, None) => {
                out.push_str(&format!(" The message for C has waited in the queue since {stored}."))
            }
        }
        out
    }

    fn broker_down_for_c(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let mut out = match self.a_call() {
            Call::Answered { waited } => format!(
                "A got its reply after {waited}: B does not wait for the broker, so A hears \
                 that all went well."
            ),
            Call::Failed { attempts } => format!("A's call failed after {attempts} attempts."),
            Call::Open => "A got no reply; its call is still open.".into(),
        };
        let Some(&(at, msg)) = self.publishes(self.b).first() else {
            out.push_str(" B never published a message for C.");
            return out;
        };
        out.push(' ');
        out.push_str(&self.fate_of_publish("B", "C", at, msg));
        out
    }

    fn broker_down_confirm(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let b_worked = self.works(self.b).first().map(|&(at, d)| at + d);
        let failed = self.kinds().find_map(|(at, k)| match *k {
            EventKind::PublishFailed { node, job: Some(_), timed_out, .. } if node == self.b => {
                Some((at, timed_out))
            }
            _ => None,
        });
        let mut out = match self.a_call() {
            Call::Answered { waited } => format!("A got its reply after {waited}."),
            Call::Failed { .. } => "A got an error back.".to_string(),
            Call::Open => "A got no reply; its call is still open.".into(),
        };
        match (failed, b_worked) {
            (Some((at, timed_out)), Some(done)) => {
                let why = if timed_out {
                    "no confirm came within 300 ms"
                } else {
                    "the broker refused the message"
                };
                out.push_str(&format!(
                    " B had finished its own work at {done}, but at {at} {why}, so B's job \
                     failed and A was told it failed: for work that was in fact done. If A \
                     tries again, B does the work twice, unless A sends an idempotency key. C \
                     never gets the message."
                ));
            }
            _ => {
                let confirmed = self.kinds().any(|(_, k)| {
                    matches!(*k, EventKind::PublishConfirmed { node, .. } if node == self.b)
                });
                if confirmed {
                    out.push_str(" The broker was up and confirmed B's message, so B answered A.");
                }
            }
        }
        out
    }

    fn broker_down_outbox(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let mut out = match self.a_call() {
            Call::Answered { waited } => format!(
                "Yes: A got its reply after {waited}; B answered as soon as the message was \
                 in its outbox."
            ),
            Call::Failed { attempts } => format!("A's call failed after {attempts} attempts."),
            Call::Open => "A got no reply; its call is still open.".into(),
        };
        let stored = self.kinds().find_map(|(at, k)| match *k {
            EventKind::OutboxStored { node, message, .. } if node == self.b => Some((at, message)),
            _ => None,
        });
        let Some((stored_at, message)) = stored else {
            out.push_str(" B stored nothing in its outbox.");
            return out;
        };
        let failed = self
            .kinds()
            .filter(|(_, k)| {
                matches!(*k, EventKind::PublishFailed { node, job: None, message: m, .. }
                    if *node == self.b && *m == message)
            })
            .count();
        let relayed = self.kinds().find_map(|(at, k)| match *k {
            EventKind::OutboxRelayed { node, message: m, attempts }
                if node == self.b && m == message =>
            {
                Some((at, attempts))
            }
            _ => None,
        });
        out.push_str(&format!(" The message went into B's outbox at {stored_at}."));
        match relayed {
            Some((at, attempts)) => {
                let tries = match failed {
                    1 => "1 try".to_string(),
                    n => format!("{n} tries"),
                };
                out.push_str(&format!(
                    " B's relay published it {attempts} times ({tries} got no confirm while the \
                     broker was down); B had the broker's confirm at {at}."
                ));
            }
            None => out.push_str(" The relay is still trying to publish it."),
        }
        match self.deliveries(message).first() {
            Some(&got) => out.push_str(&format!(
                " C got it at {got}: late, but not lost, and A never waited for any of it."
            )),
            None => out.push_str(" C has not got it yet."),
        }
        out
    }

    fn subscriber_down(&self, model: &Model) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let (Some(api), Some(c)) = (model.node_named("api"), self.c) else { return String::new() };
        let mut out = match self.a_call() {
            Call::Answered { waited } => {
                format!("Yes: A got its answer after {waited}; the API never waits for C.")
            }
            Call::Failed { attempts } => format!("A's call failed after {attempts} attempts."),
            Call::Open => "A got no answer; its call is still open.".into(),
        };
        let notified = self.kinds().find_map(|(at, k)| match *k {
            EventKind::Notified { node, subscribers, .. } if node == api => Some((at, subscribers)),
            _ => None,
        });
        match notified {
            Some((at, 0)) => out.push_str(&format!(
                " When the API pushed the order's event at {at}, C's subscription had ended with \
                 its crash, so the event went to nobody."
            )),
            Some((at, n)) => out.push_str(&format!(
                " The API pushed the order's event at {at} to {n} subscriber{}.",
                if n == 1 { "" } else { "s" }
            )),
            None => out.push_str(" The API pushed no event."),
        }
        let pushed_to_c = self.kinds().find_map(|(at, k)| match *k {
            EventKind::Received { node, .. } if node == c => Some(at),
            _ => None,
        });
        let again = self.kinds().filter_map(|(at, k)| match *k {
            EventKind::Subscribed { subscriber, .. } if subscriber == c => Some(at),
            _ => None,
        });
        let back = self.back_after(c, SimTime::ZERO);
        let resubscribed = again.filter(|at| back.is_some_and(|b| *at >= b)).last();
        match (pushed_to_c, resubscribed) {
            (Some(at), _) => out.push_str(&format!(" C got the event at {at}.")),
            (None, Some(at)) => out.push_str(&format!(
                " C subscribed again at {at}, once it was back, but a subscription carries only \
                 what happens from then on: C never hears of this order."
            )),
            (None, None) => out.push_str(" C never heard of the order."),
        }
        out
    }

    fn log_consumer_crash(&self, model: &Model) -> String {
        let Some(b1) = model.node_named("b1") else { return String::new() };
        // Each record: its key and its place in the order the log appended them.
        let mut place = BTreeMap::new();
        for (_, k) in self.kinds() {
            if let EventKind::Appended { partition, offset, key, .. } = *k {
                let n = place.len();
                place.insert((partition, offset), (key, n));
            }
        }
        if place.is_empty() {
            return "A produced nothing in this run, so there is nothing to answer.".into();
        }
        let committed =
            self.kinds().filter(|(_, k)| matches!(k, EventKind::Committed { .. })).count();
        // Who sent a commit for each record, and whether the keys' first commits kept order.
        let mut finishers: BTreeMap<(u32, u64), usize> = BTreeMap::new();
        let mut last: BTreeMap<u32, usize> = BTreeMap::new();
        let mut broken = None;
        for (_, k) in self.kinds() {
            if let EventKind::Sent { payload: Payload::Commit { partition, offset, .. }, .. } = *k {
                *finishers.entry((partition, offset)).or_default() += 1;
                if let Some(&(key, n)) = place.get(&(partition, offset)) {
                    let latest = last.entry(key).or_insert(n);
                    if n < *latest && broken.is_none() {
                        broken = Some(key);
                    }
                    *latest = (*latest).max(n);
                }
            }
        }
        let twice = finishers.values().filter(|&&n| n > 1).count();
        let again = self
            .kinds()
            .filter(|(_, k)| {
                matches!(
                    k,
                    EventKind::Sent { payload: Payload::Record { redelivered: true, .. }, .. }
                )
            })
            .count();
        let crashed = self.ups_and_downs(b1).into_iter().find(|(_, down)| *down).map(|x| x.0);

        let total = place.len();
        let mut out = if committed == total {
            format!("No record was lost: all {total} were committed.")
        } else {
            format!("{committed} of the {total} records appended are committed so far.")
        };
        if let Some(at) = crashed {
            let moved: Vec<String> = self
                .kinds()
                .filter(|(t, _)| *t == at)
                .filter_map(|(_, k)| match *k {
                    EventKind::Assigned { partition, consumer: Some(c), .. } if c != b1 => {
                        Some(format!("p{partition}"))
                    }
                    _ => None,
                })
                .collect();
            if !moved.is_empty() {
                out.push_str(&format!(
                    " When B1 crashed at {at}, its partitions ({}) went to B2, which read each \
                     from its last commit.",
                    moved.join(", ")
                ));
            }
        }
        out.push_str(&match (again, twice) {
            (0, _) => " No record had to go out again.".to_string(),
            (n, 0) => format!(
                " {n} record{} went out again, marked as redelivered: B1 had not finished \
                 {}, so none was handled twice.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "it" } else { "them" }
            ),
            (n, t) => format!(
                " {n} record{} went out again, marked as redelivered, and {t} {} handled twice: \
                 B1 had finished {} but its commit never reached the log (at least once).",
                if n == 1 { "" } else { "s" },
                if t == 1 { "was" } else { "were" },
                if t == 1 { "it" } else { "them" }
            ),
        });
        out.push_str(&match broken {
            None => " Each customer's records were finished in the order the log got them: \
                     one key, one partition, read in order."
                .to_string(),
            Some(key) => format!(
                " Customer k{key}'s records were not finished in the order the log got them."
            ),
        });
        out
    }

    /// What became of a publish: dropped at a down broker, or stored and delivered.
    fn fate_of_publish(
        &self,
        who: &str,
        consumer: &str,
        at: SimTime,
        msg: callflow_sim::MsgId,
    ) -> String {
        let broker_back =
            self.broker.and_then(|b| self.back_after(b, at)).map(|t| format!(" at {t}"));
        if let Some((lost, reason)) = self.dropped(msg) {
            let how = match reason {
                DropReason::NodeDown => {
                    format!("reached the broker at {lost} while it was down and was dropped")
                }
                DropReason::LinkLoss => format!("was lost on its link, at {lost}"),
                DropReason::Partition => {
                    format!("was dropped at {lost}: {who} and the broker were cut off")
                }
            };
            return format!(
                "{who}'s message, published at {at}, {how}. {who} got no confirm and was not told; nothing sends the \
                 message again, so {consumer} never gets it, not even after the broker came \
                 back{}. Compare the presets where {who} waits for the confirm, or keeps the \
                 message in an outbox.",
                broker_back.unwrap_or_default()
            );
        }
        match (self.stored(msg), self.deliveries(msg).first()) {
            (Some(stored), Some(&got)) => format!(
                "The broker was up when {who}'s message arrived: it stored it at {stored}, \
                 and {consumer} got it at {got}."
            ),
            (Some(stored), None) => format!(
                "The broker stored {who}'s message at {stored}; it still waits for {consumer}."
            ),
            _ => format!("{who}'s message, published at {at}, is still on its way."),
        }
    }

    fn broker_down_for_a(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let Some(&(at, msg)) = self.publishes(self.a).first() else {
            return "A never published a message.".into();
        };
        let free = self.first_job_done(self.a);
        let noticed = match free {
            Some(t) => format!("A did not notice: it published at {at} and was free at {t}, without waiting for anyone."),
            None => format!("A published at {at}."),
        };
        format!("{noticed} {}", self.fate_of_publish("A", "B", at, msg))
    }

    fn first_job_done(&self, node: NodeId) -> Option<SimTime> {
        self.kinds().find_map(|(at, k)| match *k {
            EventKind::JobDone { node: n, .. } if n == node => Some(at),
            _ => None,
        })
    }

    /// Whether `node` was ever blocked on a call.
    fn blocked(&self, node: NodeId) -> bool {
        self.kinds().any(|(_, k)| matches!(*k, EventKind::CallBlocked { node: n, .. } if n == node))
    }

    fn slow_sync(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let work = self.works(self.b).first().map(|w| w.1);
        let slow = match self.slowed(self.b) {
            Some(p) => format!("B works at {} its usual time", slowness(p)),
            None => "B works at its usual speed".into(),
        };
        match (self.a_call(), work) {
            (Call::Answered { waited }, Some(work)) => format!(
                "A waited {waited}, and {work} of it was B's work ({slow}). A could do \
                 nothing else meanwhile: a synchronous caller's wait holds all of the callee's \
                 time, so when B is slow, A is slow."
            ),
            (Call::Answered { waited }, None) => format!("A waited {waited} for its reply."),
            (Call::Failed { attempts }, _) => {
                format!("A's call failed after {attempts} attempts; it waited for nothing.")
            }
            (Call::Open, _) => "A got no reply: its call is still open.".into(),
        }
    }

    fn slow_async(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let Some(&(at, msg)) = self.publishes(self.a).first() else {
            return "A never published a message.".into();
        };
        let mut out = if self.blocked(self.a) {
            "A was blocked on a call in this run.".to_string()
        } else {
            match self.first_job_done(self.a) {
                Some(free) => format!(
                    "A never waited: it published at {at} and was free at {free}, whatever \
                     B's speed."
                ),
                None => format!("A never waited: it published at {at}."),
            }
        };
        let slow = match self.slowed(self.b) {
            Some(p) => format!(" (B works at {} its usual time)", slowness(p)),
            None => String::new(),
        };
        match (self.works(self.b).first(), self.acked(msg)) {
            (Some(&(_, work)), Some(acked)) => out.push_str(&format!(
                " B took {work} over the message{slow} and acked it at {acked}, {} after A \
                 published: only B's own time grew.",
                acked - at
            )),
            _ => out.push_str(" B has not finished the message."),
        }
        out
    }

    fn retries(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let runs = self.works(self.b).len();
        let timeouts = self
            .kinds()
            .filter(|(_, k)| matches!(**k, EventKind::CallTimedOut { node, .. } if node == self.a))
            .count();
        let (stored, refused) = self.kinds().fold((0, 0), |(s, r), (_, k)| match *k {
            EventKind::Replayed { stored: true, .. } => (s + 1, r),
            EventKind::Replayed { stored: false, .. } => (s, r + 1),
            _ => (s, r),
        });
        let mut out = match runs {
            0 => "B never did the work for A's one call.".to_string(),
            n => format!("B did the work {} for A's one call.", times(n)),
        };
        let resent = self
            .kinds()
            .filter(|(_, k)| {
                matches!(**k, EventKind::Sent { from, payload: Payload::HttpRequest { attempt, .. }, .. }
                    if from == self.a && attempt > 1)
            })
            .count();
        out.push_str(&match (timeouts, resent) {
            (0, _) => " No attempt of A's timed out.".to_string(),
            (1, 1) => " A timed out once and sent the request again.".to_string(),
            (n, r) if n == r => {
                format!(" A timed out {n} times, sending the request again each time.")
            }
            (1, _) => " A timed out once, and gave up.".to_string(),
            (n, r) => format!(
                " A timed out {n} times: it sent the request again {} and then gave up.",
                times(r)
            ),
        });
        if runs > 1 {
            out.push_str(
                " B never knows that a client gave up, so it ran every copy: without an \
                 idempotency key, a retry repeats the call's side effects.",
            );
        }
        if stored > 0 {
            out.push_str(&format!(
                " B answered {} from its store, by the key, without working again.",
                if stored == 1 { "a repeat".to_string() } else { format!("{stored} repeats") }
            ));
        }
        if refused > 0 {
            out.push_str(&format!(
                " B refused {} while the key's first request was still running.",
                if refused == 1 { "a repeat".to_string() } else { format!("{refused} repeats") }
            ));
        }
        out.push_str(&match self.a_call() {
            Call::Answered { waited } => format!(" A got its reply after {waited}."),
            Call::Failed { attempts } => {
                format!(" A gave up after {attempts} attempts: its call failed.")
            }
            Call::Open => " A's call is still open.".into(),
        });
        out
    }

    fn slow_consumer(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let published = self.publishes(self.a);
        let Some(&(last_at, last)) = published.last() else {
            return "A never published a message.".into();
        };
        // The most messages that waited at once, and when.
        let mut most = (0, SimTime::ZERO);
        for (at, k) in self.kinds() {
            let ready = match *k {
                EventKind::Enqueued { ready, .. } | EventKind::Dequeued { ready, .. } => ready,
                _ => continue,
            };
            if ready > most.0 {
                most = (ready, at);
            }
        }
        let mut out = match most.0 {
            0 | 1 => format!(
                "The queue never held more than {} waiting message: B kept up with A's {} \
                 messages.",
                most.0,
                published.len()
            ),
            n => format!(
                "The queue grew: up to {n} messages waited at once, at {}. B takes one at a \
                 time, so whenever A publishes faster than B works, the difference piles up in \
                 the queue.",
                most.1
            ),
        };
        if self.blocked(self.a) {
            out.push_str(" A was blocked on a call in this run.");
        } else {
            out.push_str(" A never waited for any of it.");
        }
        match self.acked(last) {
            Some(done) => out.push_str(&format!(
                " B acked A's last message at {done}, {} after A published it at {last_at}.",
                done - last_at
            )),
            None => out.push_str(" B has not finished A's last message."),
        }
        out
    }

    fn redelivery(&self) -> String {
        if let Some(text) = self.nothing_started() {
            return text;
        }
        let Some(&(_, msg)) = self.publishes(self.a).first() else {
            return "A never published a message.".into();
        };
        let requeued: Vec<SimTime> = self
            .kinds()
            .filter_map(|(at, k)| match *k {
                EventKind::Requeued { message, .. } if message == msg => Some(at),
                _ => None,
            })
            .collect();
        let deliveries = self.deliveries(msg);
        let starts = self.works(self.b).len();
        let mut out = match (self.acked(msg), requeued.first()) {
            (Some(acked), Some(&back)) => format!(
                "No, it was not lost: B crashed at {back} before its ack, so the broker took \
                 the message back and delivered it again when B was up{}; B finished it and \
                 its ack reached the broker at {acked}.",
                self.back_after(self.b, back).map(|t| format!(" at {t}")).unwrap_or_default()
            ),
            (Some(acked), None) => format!(
                "It was not lost, and there was nothing to take back: B's ack reached the \
                 broker at {acked}, before any crash mattered."
            ),
            (None, Some(&back)) => format!(
                "Not lost, not yet handled: the broker took the message back at {back} and \
                 still holds it."
            ),
            (None, None) => match self.dropped(msg) {
                Some((at, _)) => format!("The message was dropped at {at} on its way."),
                None => "The message was never acked.".into(),
            },
        };
        if starts > 1 || deliveries.len() > 1 {
            out.push_str(&format!(
                " It reached B {} and B started its work {}: at-least-once delivery means a \
                 consumer may see a message again, so its work must be safe to repeat.",
                times(deliveries.len()),
                times(starts)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{read, write, Options};
    use crate::playback::Target;

    /// The preset's run, played to its end.
    fn run(preset: Preset) -> Playback {
        let (mut p, problem) = Options::with_preset(preset).playback();
        assert_eq!(problem, None);
        let mut steps = 0;
        while p.step() {
            steps += 1;
            assert!(steps < 5_000, "{preset:?} ends");
        }
        p
    }

    fn events(p: &Playback) -> Vec<Event> {
        p.sim().trace().since(0).cloned().collect()
    }

    fn answer(p: &Playback) -> String {
        let preset = p.preset().expect("a preset's run");
        preset.answer_for(p).expect("the run is finished")
    }

    /// The first event of a kind, for checks that read the trace themselves.
    fn first<T>(p: &Playback, f: impl Fn(&Event) -> Option<T>) -> Option<T> {
        events(p).iter().find_map(f)
    }

    fn node(p: &Playback, id: &str) -> NodeId {
        p.sim().model().node_named(id).unwrap()
    }

    fn a_waited(p: &Playback) -> Option<SimDuration> {
        let a = node(p, "a");
        first(p, |e| match e.kind {
            EventKind::CallReturned { node, waited, ok: true, .. } if node == a => Some(waited),
            _ => None,
        })
    }

    fn count(p: &Playback, f: impl Fn(&EventKind) -> bool) -> usize {
        events(p).iter().filter(|e| f(&e.kind)).count()
    }

    #[test]
    fn every_preset_belongs_to_its_figure_and_has_a_name_of_its_own() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_slug(p.slug()), Some(p));
            assert!(Preset::of(p.figure()).any(|q| q == p));
            assert!(p.question().ends_with('?'), "{p:?}");
            let model = p.model();
            assert_eq!(
                model.nodes.iter().map(|n| &n.id).collect::<Vec<_>>(),
                p.figure().model().nodes.iter().map(|n| &n.id).collect::<Vec<_>>()
            );
        }
        assert_eq!(Preset::from_slug("nope"), None);
    }

    #[test]
    fn no_answer_before_the_run_is_over() {
        for preset in Preset::ALL {
            let (p, _) = Options::with_preset(preset).playback();
            assert_eq!(preset.answer_for(&p), None, "{preset:?}");
        }
    }

    #[test]
    fn c_down_a_gets_its_reply_and_the_message_waits_for_c() {
        let p = run(Preset::CDown);
        let said = answer(&p);
        let waited = a_waited(&p).expect("A got its reply");
        assert!(said.starts_with(&format!("Yes: A got its reply after {waited}")), "{said}");
        let c = node(&p, "c");
        let back = first(&p, |e| {
            matches!(e.kind, EventKind::Recovered { node } if node == c).then_some(e.at)
        })
        .unwrap();
        assert!(said.contains(&format!("until C came back at {back}")), "{said}");
        assert!(p.sim().trace().since(0).any(|e| matches!(e.kind, EventKind::Acked { .. })));
    }

    /// A reader's own faults or actions make another run than the question's: the page says
    /// so rather than answer a question about a run that did not happen.
    #[test]
    fn a_run_the_reader_changed_gets_no_guessed_answer() {
        let mut p = run(Preset::CDown);
        p.reset();
        let c = node(&p, "c");
        // C crashes at 0 ms by the preset: the reader recovers it just after, then sends.
        while p.sim().next_due().is_some_and(|t| t == SimTime::ZERO) {
            p.step();
        }
        p.disrupt(callflow_sim::scenario::Disruption::Recover(c)).unwrap();
        p.act();
        while p.step() {}
        let said = answer(&p);
        assert!(said.starts_with("You changed this run ("), "{said}");
        assert!(said.contains("a fault of your own"), "{said}");
        // A setting changes what happens, not the question: that run is still answered.
        let mut p = Options::with_preset(Preset::CDown).playback().0;
        p.change(crate::playback::Target::Processing(node(&p, "b")), 50.0).unwrap();
        while p.step() {}
        assert!(answer(&p).starts_with("Yes: A got its reply after"), "{}", answer(&p));
    }

    #[test]
    fn broker_down_under_b_a_is_answered_and_c_never_gets_the_message() {
        let p = run(Preset::BrokerDownHybrid);
        let said = answer(&p);
        let waited = a_waited(&p).expect("A got its reply");
        assert!(said.starts_with(&format!("A got its reply after {waited}")), "{said}");
        assert!(said.contains("was dropped") && said.contains("C never gets it"), "{said}");
        assert_eq!(count(&p, |k| matches!(k, EventKind::Enqueued { .. })), 0);
        assert!(said.contains("back at 2.000 s"), "{said}");
    }

    #[test]
    fn a_subscriber_that_was_down_never_hears_of_the_order() {
        let p = run(Preset::SubscriberDown);
        let said = answer(&p);
        let c = node(&p, "c");
        let waited = a_waited(&p).expect("A got its answer");
        assert!(said.starts_with(&format!("Yes: A got its answer after {waited}")), "{said}");
        let nobody = first(&p, |e| match e.kind {
            EventKind::Notified { subscribers: 0, .. } => Some(e.at),
            _ => None,
        })
        .expect("the event went to nobody");
        assert!(said.contains(&format!("pushed the order's event at {nobody}")), "{said}");
        let again = events(&p)
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Subscribed { subscriber, .. } if subscriber == c => Some(e.at),
                _ => None,
            })
            .next_back()
            .expect("C subscribed again");
        assert!(said.contains(&format!("C subscribed again at {again}")), "{said}");
        assert_eq!(
            count(&p, |k| matches!(k, EventKind::Sent { payload: Payload::Push { .. }, .. })),
            0
        );
    }

    #[test]
    fn a_log_consumer_crash_loses_nothing_and_keeps_each_key_in_order() {
        let p = run(Preset::LogConsumerCrash);
        let said = answer(&p);
        let appended = count(&p, |k| matches!(k, EventKind::Appended { .. }));
        assert_eq!(appended, 12);
        assert_eq!(count(&p, |k| matches!(k, EventKind::Committed { .. })), 12);
        assert!(said.starts_with("No record was lost: all 12 were committed."), "{said}");
        assert!(
            said.contains("When B1 crashed at 1.000 s, its partitions (p0, p2) went to B2"),
            "{said}"
        );
        let again = count(&p, |k| {
            matches!(k, EventKind::Sent { payload: Payload::Record { redelivered: true, .. }, .. })
        });
        if again > 0 {
            assert!(said.contains(&format!("{again} record")), "{said}");
        }
        assert!(said.ends_with("one key, one partition, read in order."), "{said}");
    }

    #[test]
    fn broker_down_with_a_confirm_fails_a_for_work_that_was_done() {
        let p = run(Preset::BrokerDownConfirm);
        let said = answer(&p);
        let (b, c) = (node(&p, "b"), node(&p, "c"));
        let done = first(&p, |e| match e.kind {
            EventKind::WorkDone { node, .. } if node == b => Some(e.at),
            _ => None,
        })
        .expect("B did its work");
        let failed = first(&p, |e| match e.kind {
            EventKind::PublishFailed { node, timed_out: true, .. } if node == b => Some(e.at),
            _ => None,
        })
        .expect("no confirm came in time");
        assert!(done < failed);
        assert!(said.starts_with("A got an error back."), "{said}");
        assert!(said.contains(&format!("finished its own work at {done}")), "{said}");
        assert!(said.contains(&format!("at {failed} no confirm came within 300 ms")), "{said}");
        let delivered = first(&p, |e| match e.kind {
            EventKind::Sent { to, payload: Payload::Deliver { .. }, .. } if to == c => Some(()),
            _ => None,
        });
        assert_eq!(delivered, None, "C never gets the message");
    }

    #[test]
    fn broker_down_with_an_outbox_answers_a_and_c_gets_the_message_late() {
        let p = run(Preset::BrokerDownOutbox);
        let said = answer(&p);
        let (a, b, c) = (node(&p, "a"), node(&p, "b"), node(&p, "c"));
        let waited = first(&p, |e| match e.kind {
            EventKind::CallReturned { node, waited, ok: true, .. } if node == a => Some(waited),
            _ => None,
        })
        .expect("A is answered");
        let relayed = first(&p, |e| match e.kind {
            EventKind::OutboxRelayed { node, attempts, .. } if node == b => Some((e.at, attempts)),
            _ => None,
        })
        .expect("the relay got the message through");
        let got = first(&p, |e| match e.kind {
            EventKind::Received { node, .. } if node == c => Some(e.at),
            _ => None,
        })
        .expect("C got the message");
        assert!(
            relayed.0 >= SimTime::ZERO + SimDuration::from_millis(2000),
            "after the broker is back"
        );
        assert!(relayed.1 >= 2, "the relay tried while the broker was down");
        assert!(said.starts_with(&format!("Yes: A got its reply after {waited}")), "{said}");
        assert!(said.contains(&format!("B had the broker's confirm at {}", relayed.0)), "{said}");
        assert!(said.contains(&format!("C got it at {got}")), "{said}");
    }

    #[test]
    fn a_slow_b_is_all_in_a_s_wait_and_none_of_it_through_a_broker() {
        let p = run(Preset::SlowSync);
        let said = answer(&p);
        let waited = a_waited(&p).unwrap();
        assert!(waited >= SimDuration::from_millis(4_000), "{waited}");
        assert!(said.starts_with(&format!("A waited {waited}, and 4.000 s of it")), "{said}");
        assert!(said.contains("×10"), "{said}");

        let p = run(Preset::SlowAsync);
        let said = answer(&p);
        assert_eq!(a_waited(&p), None);
        assert!(
            said.starts_with("A never waited: it published at 0 ms and was free at 20 ms"),
            "{said}"
        );
        assert!(said.contains("B took 9.000 s over the message"), "{said}");
    }

    #[test]
    fn broker_down_under_a_the_message_is_dropped_and_a_is_not_told() {
        let p = run(Preset::BrokerDown);
        let said = answer(&p);
        let dropped =
            first(&p, |e| matches!(e.kind, EventKind::Dropped { .. }).then_some(e.at)).unwrap();
        assert!(said.starts_with("A did not notice"), "{said}");
        assert!(
            said.contains(&format!("reached the broker at {dropped} while it was down")),
            "{said}"
        );
        assert_eq!(
            count(&p, |k| matches!(k, EventKind::Received { node, .. } if *node == NodeId(2))),
            0,
            "B got nothing"
        );
    }

    #[test]
    fn a_faster_producer_fills_the_queue() {
        let p = run(Preset::SlowConsumer);
        let said = answer(&p);
        let most = events(&p)
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Enqueued { ready, .. } | EventKind::Dequeued { ready, .. } => {
                    Some(ready)
                }
                _ => None,
            })
            .max()
            .unwrap();
        assert!(most >= 3, "{most}");
        assert!(
            said.starts_with(&format!("The queue grew: up to {most} messages waited")),
            "{said}"
        );
        assert_eq!(count(&p, |k| matches!(k, EventKind::Acked { .. })), 10);

        // With B as fast as A, the same preset says the queue kept up.
        let mut p = run(Preset::SlowConsumer);
        p.change(Target::Processing(node(&p, "b")), 100.0).unwrap();
        p.reset();
        while p.step() {}
        let said = answer(&p);
        assert!(said.starts_with("The queue never held more than 1"), "{said}");
    }

    #[test]
    fn retries_without_a_key_run_the_work_again_and_with_one_they_do_not() {
        let p = run(Preset::Retry);
        let said = answer(&p);
        let b = node(&p, "b");
        let runs = count(&p, |k| matches!(k, EventKind::WorkStarted { node, .. } if *node == b));
        assert_eq!(runs, 3, "one run per attempt");
        assert!(said.starts_with("B did the work 3 times for A's one call."), "{said}");
        assert!(said.contains("A gave up after 3 attempts"), "{said}");

        let p = run(Preset::RetryKey);
        let said = answer(&p);
        let runs = count(&p, |k| matches!(k, EventKind::WorkStarted { node, .. } if *node == b));
        assert_eq!(runs, 1);
        assert!(said.starts_with("B did the work once for A's one call."), "{said}");
        let waited = a_waited(&p).expect("A got its reply");
        assert!(said.ends_with(&format!("A got its reply after {waited}.")), "{said}");
        assert!(said.contains("from its store"), "{said}");

        // A quick B: nothing times out, and the answer says so.
        let mut p = run(Preset::Retry);
        p.change(Target::Processing(b), 10.0).unwrap();
        p.reset();
        p.act();
        while p.step() {}
        let said = answer(&p);
        assert!(said.starts_with("B did the work once") && said.contains("No attempt"), "{said}");
    }

    #[test]
    fn a_crash_before_the_ack_means_a_redelivery_not_a_loss() {
        let p = run(Preset::Redelivery);
        let said = answer(&p);
        let redelivered = count(&p, |k| {
            matches!(k, EventKind::Sent { payload: Payload::Deliver { redelivered: true, .. }, .. })
        });
        assert_eq!(redelivered, 1);
        let acked =
            first(&p, |e| matches!(e.kind, EventKind::Acked { .. }).then_some(e.at)).unwrap();
        assert!(said.starts_with("No, it was not lost: B crashed at 500 ms"), "{said}");
        assert!(said.contains(&format!("reached the broker at {acked}")), "{said}");
        assert!(said.contains("reached B twice and B started its work twice"), "{said}");
    }

    #[test]
    fn a_preset_run_links_to_itself() {
        for preset in Preset::ALL {
            let mut p = run(preset);
            let c = p.sim().model().node_named("a").unwrap();
            p.disrupt(callflow_sim::scenario::Disruption::Slow(c, 300)).unwrap();
            let query = write(&p);
            assert!(query.contains(&format!("preset={}", preset.slug())), "{query}");
            let pairs: Vec<(String, String)> = crate::export::split_query(&query);
            let (o, problems) = read(None, &pairs);
            assert_eq!(problems, Vec::<String>::new());
            let (q, problem) = o.unwrap().playback();
            assert_eq!(problem, None);
            assert_eq!(events(&q), events(&p), "{preset:?}");
            assert_eq!(q.preset(), Some(preset));
        }
    }
}
