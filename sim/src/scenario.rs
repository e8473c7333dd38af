//! A scenario as plain data (nodes, links, what each service does) and its validation into a
//! [`Model`] the engine can run. Every check names the field it rejects, so a reader who typed
//! the scenario can find the mistake.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Problem};
use crate::time::{SimDuration, SimTime};

/// Everything needed to start a run: the seed, the topology, and the jobs that arrive by
/// themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub nodes: Vec<NodeSpec>,
    pub links: Vec<LinkSpec>,
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    /// Things that go wrong, each at its time.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

/// A fault and when it strikes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub at_ms: f64,
    #[serde(flatten)]
    pub fault: Fault,
}

/// Something that goes wrong, or stops going wrong, by node and link names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The node stops; see [`crate::EventKind::Crashed`].
    Crash {
        node: String,
    },
    Recover {
        node: String,
    },
    /// A service's work takes `percent` percent of its processing time (100: as set).
    Slow {
        node: String,
        percent: u32,
    },
    /// The link between `a` and `b` loses `share` (0 to 1) of what is sent on it.
    LinkLoss {
        a: String,
        b: String,
        share: f64,
    },
    /// Nothing between `a` and `b` gets through, in either direction.
    Partition {
        a: String,
        b: String,
    },
    Heal {
        a: String,
        b: String,
    },
}

/// Jobs that come to a service by themselves, as its users' requests would. Each arrival is a
/// job with the service's `on_trigger` steps, like a reader's trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    pub service: String,
    pub arrivals: Arrivals,
    /// Stop after this many arrivals; without it they go on as long as the run.
    #[serde(default)]
    pub count: Option<u64>,
}

/// When a workload's jobs arrive.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Arrivals {
    /// Only when the reader triggers the service.
    Manual,
    /// One job every `every_ms`, the first at time zero.
    Fixed { every_ms: f64 },
    /// At random, `per_s` jobs a second on average: the gaps are independent and exponential,
    /// so the number of arrivals in any interval is Poisson.
    Poisson { per_s: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeSpec {
    Service(ServiceSpec),
    Broker(BrokerSpec),
    Log(LogSpec),
}

/// A service: a pool of workers and what a worker does for each kind of job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub id: String,
    pub label: String,
    /// How many jobs run at once; further jobs wait in the service's inbox.
    pub workers: u32,
    /// How long one `work` step holds a worker.
    pub processing: LatencySpec,
    /// Steps for a job the reader starts (the "send" button) or a workload brings.
    #[serde(default)]
    pub on_trigger: Vec<Step>,
    /// Steps for an incoming HTTP request; the response is sent after the last step.
    #[serde(default)]
    pub on_request: Vec<Step>,
    /// Steps for a message the broker delivers; the ack is sent after the last step.
    #[serde(default)]
    pub on_message: Vec<Step>,
    /// How the service's HTTP client calls others. The default waits for ever, once.
    #[serde(default)]
    pub client: ClientSpec,
    /// Remember the id of every message whose job ended well, and ack a delivery of a message
    /// already processed without running its steps. The id is stored when the job ends, in
    /// the same transaction as its work, just before the ack.
    #[serde(default)]
    pub idempotent_consumer: bool,
    /// Subscriptions the service opens when the run starts, as a GraphQL client does: each a
    /// long-lived connection over which the server pushes an event whenever one of its steps
    /// `notify`s the topic. The pushes are jobs with the `on_message` steps.
    #[serde(default)]
    pub subscribe: Vec<SubscriptionSpec>,
}

/// A subscription to a server's topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionSpec {
    pub server: String,
    pub topic: String,
}

/// An HTTP client's policy: how long it waits for a response, and what it does then.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientSpec {
    /// Give up on an attempt after this long; without it, wait for ever.
    #[serde(default)]
    pub timeout_ms: Option<f64>,
    /// Attempts after the first, after a timeout or an error response.
    #[serde(default)]
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    #[serde(default)]
    pub backoff_ms: f64,
    /// Add to each wait a random share of it (0 to 1), so that clients spread out.
    #[serde(default)]
    pub jitter: f64,
    /// Send every attempt of one call with the same idempotency key; a server that has
    /// finished that key answers again with its stored result instead of running the job.
    #[serde(default)]
    pub idempotency_key: bool,
}

/// One step of a job, run in order by the worker that holds the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Step {
    /// Hold the worker for the service's processing time.
    Work,
    /// Send an HTTP request and hold the worker, blocked, until the response arrives.
    Call { service: String },
    /// Hand a message to a broker, for one of its queues or one of its exchanges (give one of
    /// the two fields), and carry on at once.
    Publish {
        broker: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        queue: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exchange: Option<String>,
        /// How the publisher learns that the broker has the message, if it does.
        #[serde(default, skip_serializing_if = "PublishMode::is_fire_and_forget")]
        mode: PublishMode,
    },
    /// Push an event to every current subscriber of this service's `topic` and carry on at
    /// once: the server does not wait for the subscribers.
    Notify { topic: String },
    /// Append a record to a topic of a partitioned log and carry on at once. Its key stands
    /// for what the record is about (an order's customer, say): the job's number modulo `keys`.
    Produce { log: String, topic: String, keys: u32 },
}

/// What a publisher does to be sure the broker has its message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// Send and carry on: the publisher never learns whether the broker stored the message.
    /// A publish that reaches a broker that is down is lost, and nobody is told.
    #[default]
    FireAndForget,
    /// Hold the worker until the broker's confirm. A negative confirm, or none within
    /// `timeout_ms`, fails the job: a request's job then answers with an error, though the
    /// work before the publish was done.
    AwaitConfirm { timeout_ms: f64 },
    /// Store the message in the service's durable outbox, in the same transaction as the
    /// job's work, and carry on at once. The service's relay publishes outbox messages one at
    /// a time, in order, each until the broker confirms it: after a negative confirm, or none
    /// within `retry_ms`, it publishes the same message again, under the same id.
    Outbox { retry_ms: f64 },
}

impl PublishMode {
    pub fn is_fire_and_forget(&self) -> bool {
        *self == PublishMode::FireAndForget
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrokerSpec {
    pub id: String,
    pub label: String,
    pub queues: Vec<QueueSpec>,
    /// Fan-out exchanges: a publish to one puts a copy of the message in each of its queues.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<ExchangeSpec>,
}

/// A fan-out exchange of a broker, bound to queues of the same broker by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExchangeSpec {
    pub name: String,
    pub queues: Vec<String>,
}

/// A named queue and the services it delivers to: one `consumer`, or several competing
/// `consumers` (give one of the two fields), each message going to one of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueSpec {
    pub name: String,
    /// The one service that consumes the queue.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consumer: String,
    /// Services that compete for the queue's messages: the broker hands each message to one
    /// of them, taking turns among those that are up and have room under their prefetch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<String>,
    /// How many delivered but unacknowledged messages each consumer may hold.
    pub prefetch: u32,
    /// At most this many messages wait in the queue; without it, any number.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// What a full queue does with one more.
    #[serde(default)]
    pub overflow: Overflow,
    /// When the consumer acks.
    #[serde(default)]
    pub ack: AckMode,
    /// Where a message goes after this many deliveries without an ack, instead of a further
    /// one: a queue of the same broker.
    #[serde(default)]
    pub dead_letter: Option<DeadLetterSpec>,
}

/// What a full queue does with one more message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Refuse the new message: the publisher gets a negative confirm.
    #[default]
    RejectPublish,
    /// Drop the oldest waiting message to make room.
    DropOldest,
}

/// When a consumer acks a delivery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// After its job is done: a crash before then means the message comes again.
    #[default]
    AfterWork,
    /// As soon as the delivery arrives: a crash during the job loses the message.
    OnReceipt,
}

/// A partitioned log in the style of Kafka; see [`crate::log`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogSpec {
    pub id: String,
    pub label: String,
    pub topics: Vec<TopicSpec>,
}

/// A topic: its partitions, how a record's partition is chosen, and its consumer group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    #[serde(default)]
    pub partitioner: Partitioner,
    /// The consumer group: services that share out the partitions.
    pub consumers: Vec<String>,
}

/// How the log picks a record's partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    /// From the key: one key, one partition, so records with a key stay in order.
    #[default]
    ByKey,
    /// Each partition in turn, whatever the key: even spread, no order per key.
    RoundRobin,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterSpec {
    pub queue: String,
    pub after_deliveries: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Http,
    Amqp,
    /// A log's own protocol: produce, fetch, commit.
    Kafka,
    /// A long-lived two-way connection, over which a GraphQL subscription's events come.
    WebSocket,
}

impl Protocol {
    /// The name people know it by: `HTTP`, `AMQP`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Amqp => "AMQP",
            Protocol::Kafka => "Kafka",
            Protocol::WebSocket => "WebSocket",
        }
    }
}

/// A two-way link between two nodes; both directions share its latency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkSpec {
    pub a: String,
    pub b: String,
    pub protocol: Protocol,
    pub latency: LatencySpec,
}

/// How long something takes, in milliseconds: always the same, or drawn afresh each time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum LatencySpec {
    Constant { ms: f64 },
    Uniform { min_ms: f64, max_ms: f64 },
    Exponential { mean_ms: f64 },
}

/// A checked [`LatencySpec`] in whole microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Latency {
    Constant(SimDuration),
    Uniform(SimDuration, SimDuration),
    Exponential(SimDuration),
}

impl LatencySpec {
    /// Checks the numbers; `field` names where they came from in the error.
    pub fn check(&self, field: &str) -> Result<Latency, Error> {
        let ms = |v: f64, f: &str| {
            SimDuration::from_millis_f64(v)
                .ok_or_else(|| Error::new(format!("{field}.{f}"), Problem::BadDuration(v)))
        };
        Ok(match *self {
            LatencySpec::Constant { ms: v } => Latency::Constant(ms(v, "ms")?),
            LatencySpec::Uniform { min_ms, max_ms } => {
                let (lo, hi) = (ms(min_ms, "min_ms")?, ms(max_ms, "max_ms")?);
                if lo > hi {
                    return Err(Error::new(format!("{field}.min_ms"), Problem::MinAboveMax));
                }
                Latency::Uniform(lo, hi)
            }
            LatencySpec::Exponential { mean_ms } => Latency::Exponential(ms(mean_ms, "mean_ms")?),
        })
    }
}

impl Latency {
    /// The mean of the distribution, which the page shows as "the" latency.
    pub fn mean(&self) -> SimDuration {
        match *self {
            Latency::Constant(d) | Latency::Exponential(d) => d,
            Latency::Uniform(lo, hi) => {
                SimDuration::from_micros((lo.as_micros() + hi.as_micros()) / 2)
            }
        }
    }
}

/// The index of a node in [`Model::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u16);

/// The index of a link in [`Model::links`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LinkId(pub u16);

/// An exchange: its broker and its index among that broker's exchanges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExchangeId {
    pub broker: NodeId,
    pub index: u16,
}

/// Where a publish goes: one queue, or every queue an exchange is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Queue(QueueId),
    Exchange(ExchangeId),
}

impl Route {
    /// The broker that takes the publish.
    pub fn broker(self) -> NodeId {
        match self {
            Route::Queue(q) => q.broker,
            Route::Exchange(x) => x.broker,
        }
    }
}

/// A queue: its broker and its index among that broker's queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueId {
    pub broker: NodeId,
    pub index: u16,
}

/// A topic: its log and its index among that log's topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicId {
    pub log: NodeId,
    pub index: u16,
}

/// A validated scenario, with names resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: String,
    pub seed: u64,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    pub workloads: Vec<Workload>,
    /// Faults in the order of their times.
    pub faults: Vec<(SimTime, Disruption)>,
}

/// A resolved [`Fault`], applied by [`crate::Sim::disrupt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disruption {
    Crash(NodeId),
    Recover(NodeId),
    Slow(NodeId, u32),
    /// Envelopes lost per thousand sent on the link.
    LinkLoss(LinkId, u16),
    Partition(NodeId, NodeId),
    Heal(NodeId, NodeId),
}

/// The largest slowdown: work a hundred times as long.
pub const MAX_SLOW_PERCENT: u32 = 10_000;

/// A resolved [`WorkloadSpec`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Workload {
    pub service: NodeId,
    pub gap: Gap,
    pub count: Option<u64>,
}

/// The time between two arrivals of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gap {
    Manual,
    Fixed(SimDuration),
    /// Drawn afresh for each arrival, with this mean.
    Exponential(SimDuration),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    Service(Service),
    Broker(Broker),
    Log(Log),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub workers: u32,
    pub processing: Latency,
    pub on_trigger: Vec<Action>,
    pub on_request: Vec<Action>,
    pub on_message: Vec<Action>,
    pub client: Client,
    pub idempotent_consumer: bool,
    /// The topics this service's `notify` steps name, in order of first mention.
    pub topics: Vec<String>,
    pub subscribe: Vec<Subscription>,
}

/// A checked [`SubscriptionSpec`]: the server, the link the pushes come over, and the topic's
/// index among the server's topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub server: NodeId,
    pub link: LinkId,
    pub topic: u16,
}

/// A checked [`ClientSpec`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Client {
    pub timeout: Option<SimDuration>,
    pub retries: u32,
    pub backoff: SimDuration,
    /// Per thousand of the wait.
    pub jitter_per_mille: u16,
    pub idempotency_key: bool,
}

/// At most this many retries of one call.
pub const MAX_RETRIES: u32 = 10;

/// A resolved [`Step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Work,
    Call {
        service: NodeId,
        link: LinkId,
    },
    Publish {
        to: Route,
        link: LinkId,
        mode: Publishing,
    },
    Produce {
        topic: TopicId,
        link: LinkId,
        keys: u32,
    },
    /// The index of the topic among the service's own topics.
    Notify {
        topic: u16,
    },
}

/// A checked [`PublishMode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publishing {
    FireAndForget,
    /// Wait at most this long for the confirm.
    AwaitConfirm(SimDuration),
    /// Through the outbox; the relay tries again after this long without a confirm.
    Outbox(SimDuration),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Broker {
    pub queues: Vec<Queue>,
    pub exchanges: Vec<Exchange>,
}

/// A checked [`ExchangeSpec`]: the indices of its queues in the same broker.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchange {
    pub name: String,
    pub queues: Vec<u16>,
}

/// A checked [`LogSpec`].
#[derive(Clone, Debug, PartialEq)]
pub struct Log {
    pub topics: Vec<Topic>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    pub partitioner: Partitioner,
    /// The group's members, each with the link the log sends over.
    pub consumers: Vec<(NodeId, LinkId)>,
}

/// At most this many partitions in a topic.
pub const MAX_PARTITIONS: u32 = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    pub name: String,
    /// One or more, in the order given: the broker takes turns in this order.
    pub consumers: Vec<Consumer>,
    /// Per consumer.
    pub prefetch: u32,
    pub max_length: Option<u32>,
    pub overflow: Overflow,
    pub ack: AckMode,
    /// The index of the dead-letter queue in the same broker, and after how many deliveries.
    pub dead_letter: Option<(u16, u32)>,
}

/// A service that consumes a queue, and the link the broker delivers to it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consumer {
    pub node: NodeId,
    pub link: LinkId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub a: NodeId,
    pub b: NodeId,
    pub protocol: Protocol,
    pub latency: Latency,
}

/// More nodes or links than this is not a diagram anyone can read.
const MAX_NODES: usize = 64;
const MAX_LINKS: usize = 256;
/// Bounds that keep a typo from allocating a huge pool.
const MAX_WORKERS: u32 = 1024;
const MAX_STEPS: usize = 64;
const MAX_WORKLOADS: usize = 64;
const MAX_FAULTS: usize = 1024;
const MAX_EXCHANGES: usize = 64;

impl Scenario {
    /// Checks the scenario and resolves its names; the first problem found is the error.
    pub fn validate(&self) -> Result<Model, Error> {
        if self.nodes.len() > MAX_NODES {
            return Err(Error::new("nodes", Problem::TooMany(MAX_NODES)));
        }
        if self.links.len() > MAX_LINKS {
            return Err(Error::new("links", Problem::TooMany(MAX_LINKS)));
        }

        // Names first, so that every later lookup can resolve.
        let ids: Vec<&str> = self.nodes.iter().map(NodeSpec::id).collect();
        for (i, id) in ids.iter().enumerate() {
            if id.trim().is_empty() {
                return Err(Error::new(format!("nodes[{i}].id"), Problem::Empty));
            }
            if ids[..i].contains(id) {
                return Err(Error::new(
                    format!("nodes[{i}].id"),
                    Problem::Duplicate(id.to_string()),
                ));
            }
        }
        let node = |field: String, name: &str| {
            ids.iter()
                .position(|id| *id == name)
                .map(|i| NodeId(i as u16))
                .ok_or_else(|| Error::new(field, Problem::UnknownNode(name.to_string())))
        };

        let mut links = Vec::with_capacity(self.links.len());
        for (i, l) in self.links.iter().enumerate() {
            let f = format!("links[{i}]");
            let (a, b) = (node(format!("{f}.a"), &l.a)?, node(format!("{f}.b"), &l.b)?);
            if a == b {
                return Err(Error::new(format!("{f}.b"), Problem::SelfLink));
            }
            let latency = l.latency.check(&format!("{f}.latency"))?;
            links.push(Link { a, b, protocol: l.protocol, latency });
        }
        let link_between = |field: String, x: NodeId, y: NodeId, protocol: Protocol| {
            links
                .iter()
                .position(|l| {
                    l.protocol == protocol && ((l.a, l.b) == (x, y) || (l.b, l.a) == (x, y))
                })
                .map(|i| LinkId(i as u16))
                .ok_or_else(|| {
                    Error::new(
                        field,
                        Problem::NoLink {
                            a: ids[x.0 as usize].into(),
                            b: ids[y.0 as usize].into(),
                            protocol,
                        },
                    )
                })
        };

        // Queues next, so that publish steps can name them.
        let mut queues: Vec<Vec<Queue>> = vec![Vec::new(); self.nodes.len()];
        let mut exchanges: Vec<Vec<Exchange>> = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            let NodeSpec::Broker(b) = n else { continue };
            exchanges[i] = exchanges_of(b, &format!("nodes[{i}]"))?;
            for (q, spec) in b.queues.iter().enumerate() {
                let f = format!("nodes[{i}].queues[{q}]");
                if spec.name.trim().is_empty() {
                    return Err(Error::new(format!("{f}.name"), Problem::Empty));
                }
                if b.queues[..q].iter().any(|o| o.name == spec.name) {
                    return Err(Error::new(
                        format!("{f}.name"),
                        Problem::Duplicate(spec.name.clone()),
                    ));
                }
                let mut consumers = Vec::new();
                for (field, name) in consumer_names(spec, &f)? {
                    let consumer = node(field.clone(), name)?;
                    if !matches!(self.nodes[consumer.0 as usize], NodeSpec::Service(_)) {
                        return Err(Error::new(field, Problem::NotAService(name.to_string())));
                    }
                    if consumers.iter().any(|c: &Consumer| c.node == consumer) {
                        return Err(Error::new(field, Problem::Duplicate(name.to_string())));
                    }
                    let link = link_between(field, NodeId(i as u16), consumer, Protocol::Amqp)?;
                    consumers.push(Consumer { node: consumer, link });
                }
                if spec.prefetch == 0 || spec.prefetch > MAX_WORKERS {
                    return Err(Error::new(
                        format!("{f}.prefetch"),
                        Problem::OutOfRange(1, MAX_WORKERS),
                    ));
                }
                if spec.max_length == Some(0) {
                    return Err(Error::new(
                        format!("{f}.max_length"),
                        Problem::OutOfRange(1, u32::MAX),
                    ));
                }
                let dead_letter = match &spec.dead_letter {
                    None => None,
                    Some(d) => {
                        let index = b.queues.iter().position(|o| o.name == d.queue);
                        let index = index.filter(|&k| k != q).ok_or_else(|| {
                            Error::new(
                                format!("{f}.dead_letter.queue"),
                                Problem::UnknownQueue(d.queue.clone()),
                            )
                        })?;
                        if d.after_deliveries == 0 {
                            return Err(Error::new(
                                format!("{f}.dead_letter.after_deliveries"),
                                Problem::OutOfRange(1, u32::MAX),
                            ));
                        }
                        Some((index as u16, d.after_deliveries))
                    }
                };
                queues[i].push(Queue {
                    name: spec.name.clone(),
                    consumers,
                    prefetch: spec.prefetch,
                    max_length: spec.max_length,
                    overflow: spec.overflow,
                    ack: spec.ack,
                    dead_letter,
                });
            }
        }

        let mut topics: Vec<Vec<Topic>> = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            let NodeSpec::Log(l) = n else { continue };
            for (t, spec) in l.topics.iter().enumerate() {
                let f = format!("nodes[{i}].topics[{t}]");
                if spec.name.trim().is_empty() {
                    return Err(Error::new(format!("{f}.name"), Problem::Empty));
                }
                if l.topics[..t].iter().any(|o| o.name == spec.name) {
                    return Err(Error::new(
                        format!("{f}.name"),
                        Problem::Duplicate(spec.name.clone()),
                    ));
                }
                if spec.partitions == 0 || spec.partitions > MAX_PARTITIONS {
                    return Err(Error::new(
                        format!("{f}.partitions"),
                        Problem::OutOfRange(1, MAX_PARTITIONS),
                    ));
                }
                if spec.consumers.len() > MAX_NODES {
                    return Err(Error::new(format!("{f}.consumers"), Problem::TooMany(MAX_NODES)));
                }
                let mut consumers = Vec::with_capacity(spec.consumers.len());
                for (k, name) in spec.consumers.iter().enumerate() {
                    let cf = format!("{f}.consumers[{k}]");
                    let c = node(cf.clone(), name)?;
                    if !matches!(self.nodes[c.0 as usize], NodeSpec::Service(_)) {
                        return Err(Error::new(cf, Problem::NotAService(name.clone())));
                    }
                    if consumers.iter().any(|&(o, _)| o == c) {
                        return Err(Error::new(cf, Problem::Duplicate(name.clone())));
                    }
                    let link = link_between(cf, NodeId(i as u16), c, Protocol::Kafka)?;
                    consumers.push((c, link));
                }
                topics[i].push(Topic {
                    name: spec.name.clone(),
                    partitions: spec.partitions,
                    partitioner: spec.partitioner,
                    consumers,
                });
            }
        }

        let names = names_of(&self.nodes);
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            let me = NodeId(i as u16);
            let role = match n {
                NodeSpec::Broker(_) => Role::Broker(Broker {
                    queues: std::mem::take(&mut queues[i]),
                    exchanges: std::mem::take(&mut exchanges[i]),
                }),
                NodeSpec::Log(_) => Role::Log(Log { topics: std::mem::take(&mut topics[i]) }),
                NodeSpec::Service(s) => {
                    let f = format!("nodes[{i}]");
                    if s.workers == 0 || s.workers > MAX_WORKERS {
                        return Err(Error::new(
                            format!("{f}.workers"),
                            Problem::OutOfRange(1, MAX_WORKERS),
                        ));
                    }
                    if s.subscribe.len() > MAX_NODES {
                        return Err(Error::new(
                            format!("{f}.subscribe"),
                            Problem::TooMany(MAX_NODES),
                        ));
                    }
                    let steps = |name: &str, steps: &[Step]| -> Result<Vec<Action>, Error> {
                        if steps.len() > MAX_STEPS {
                            return Err(Error::new(
                                format!("{f}.{name}"),
                                Problem::TooMany(MAX_STEPS),
                            ));
                        }
                        steps
                            .iter()
                            .enumerate()
                            .map(|(k, step)| {
                                let sf = format!("{f}.{name}[{k}]");
                                self.resolve(step, me, &sf, &node, &link_between, &names)
                            })
                            .collect()
                    };
                    Role::Service(Service {
                        workers: s.workers,
                        processing: s.processing.check(&format!("{f}.processing"))?,
                        on_trigger: steps("on_trigger", &s.on_trigger)?,
                        on_request: steps("on_request", &s.on_request)?,
                        on_message: steps("on_message", &s.on_message)?,
                        client: client(&s.client, &format!("{f}.client"))?,
                        idempotent_consumer: s.idempotent_consumer,
                        topics: names[i].notified.iter().map(|t| t.to_string()).collect(),
                        subscribe: s
                            .subscribe
                            .iter()
                            .enumerate()
                            .map(|(k, sub)| {
                                let sf = format!("{f}.subscribe[{k}]");
                                let server = node(format!("{sf}.server"), &sub.server)?;
                                if server == me
                                    || !matches!(
                                        self.nodes[server.0 as usize],
                                        NodeSpec::Service(_)
                                    )
                                {
                                    return Err(Error::new(
                                        format!("{sf}.server"),
                                        Problem::NotAService(sub.server.clone()),
                                    ));
                                }
                                let topic = names[server.0 as usize]
                                    .notified
                                    .iter()
                                    .position(|t| *t == sub.topic)
                                    .ok_or_else(|| {
                                        Error::new(
                                            format!("{sf}.topic"),
                                            Problem::UnknownTopic(sub.topic.clone()),
                                        )
                                    })?;
                                let link = link_between(
                                    format!("{sf}.server"),
                                    me,
                                    server,
                                    Protocol::WebSocket,
                                )?;
                                Ok(Subscription { server, link, topic: topic as u16 })
                            })
                            .collect::<Result<_, Error>>()?,
                    })
                }
            };
            nodes.push(Node { id: n.id().to_string(), label: n.label().to_string(), role });
        }

        if self.workloads.len() > MAX_WORKLOADS {
            return Err(Error::new("workloads", Problem::TooMany(MAX_WORKLOADS)));
        }
        let mut workloads = Vec::with_capacity(self.workloads.len());
        for (i, w) in self.workloads.iter().enumerate() {
            let f = format!("workloads[{i}]");
            let service = node(format!("{f}.service"), &w.service)?;
            if !matches!(nodes[service.0 as usize].role, Role::Service(_)) {
                return Err(Error::new(
                    format!("{f}.service"),
                    Problem::NotAService(w.service.clone()),
                ));
            }
            let gap = match w.arrivals {
                Arrivals::Manual => Gap::Manual,
                Arrivals::Fixed { every_ms } => Gap::Fixed(
                    SimDuration::from_millis_f64(every_ms)
                        .filter(|d| *d > SimDuration::ZERO)
                        .ok_or_else(|| {
                            Error::new(format!("{f}.arrivals.every_ms"), Problem::BadGap(every_ms))
                        })?,
                ),
                Arrivals::Poisson { per_s } => {
                    let mean = (per_s.is_finite() && per_s > 0.0)
                        .then(|| SimDuration::from_millis_f64(1000.0 / per_s))
                        .flatten()
                        .filter(|d| *d > SimDuration::ZERO);
                    Gap::Exponential(mean.ok_or_else(|| {
                        Error::new(format!("{f}.arrivals.per_s"), Problem::BadRate(per_s))
                    })?)
                }
            };
            workloads.push(Workload { service, gap, count: w.count });
        }

        if self.faults.len() > MAX_FAULTS {
            return Err(Error::new("faults", Problem::TooMany(MAX_FAULTS)));
        }
        let mut faults = Vec::with_capacity(self.faults.len());
        for (i, spec) in self.faults.iter().enumerate() {
            let f = format!("faults[{i}]");
            let at = SimTime::from_millis_f64(spec.at_ms)
                .filter(|t| t.as_micros() <= 24 * SimDuration::from_millis(3_600_000).as_micros())
                .ok_or_else(|| {
                    Error::new(format!("{f}.at_ms"), Problem::BadDuration(spec.at_ms))
                })?;
            let between = |a: &str, b: &str| -> Result<LinkId, Error> {
                let (x, y) = (node(format!("{f}.a"), a)?, node(format!("{f}.b"), b)?);
                links
                    .iter()
                    .position(|l| (l.a, l.b) == (x, y) || (l.b, l.a) == (x, y))
                    .map(|i| LinkId(i as u16))
                    .ok_or_else(|| {
                        Error::new(format!("{f}.b"), Problem::NoLinkAtAll(a.into(), b.into()))
                    })
            };
            let pair = |a: &str, b: &str| -> Result<(NodeId, NodeId), Error> {
                let (x, y) = (node(format!("{f}.a"), a)?, node(format!("{f}.b"), b)?);
                if x == y {
                    return Err(Error::new(format!("{f}.b"), Problem::SelfLink));
                }
                Ok((x, y))
            };
            let d = match &spec.fault {
                Fault::Crash { node: n } => Disruption::Crash(node(format!("{f}.node"), n)?),
                Fault::Recover { node: n } => Disruption::Recover(node(format!("{f}.node"), n)?),
                Fault::Slow { node: n, percent } => {
                    let id = node(format!("{f}.node"), n)?;
                    if !matches!(nodes[id.0 as usize].role, Role::Service(_)) {
                        return Err(Error::new(
                            format!("{f}.node"),
                            Problem::NotAService(n.clone()),
                        ));
                    }
                    if *percent == 0 || *percent > MAX_SLOW_PERCENT {
                        return Err(Error::new(
                            format!("{f}.percent"),
                            Problem::OutOfRange(1, MAX_SLOW_PERCENT),
                        ));
                    }
                    Disruption::Slow(id, *percent)
                }
                Fault::LinkLoss { a, b, share } => {
                    if !(0.0..=1.0).contains(share) {
                        return Err(Error::new(format!("{f}.share"), Problem::BadShare(*share)));
                    }
                    Disruption::LinkLoss(between(a, b)?, (share * 1000.0).round() as u16)
                }
                Fault::Partition { a, b } => {
                    let (x, y) = pair(a, b)?;
                    Disruption::Partition(x, y)
                }
                Fault::Heal { a, b } => {
                    let (x, y) = pair(a, b)?;
                    Disruption::Heal(x, y)
                }
            };
            faults.push((at, d));
        }
        // Stable: faults at one time apply in the order given.
        faults.sort_by_key(|(at, _)| *at);

        Ok(Model { name: self.name.clone(), seed: self.seed, nodes, links, workloads, faults })
    }

    fn resolve(
        &self,
        step: &Step,
        me: NodeId,
        field: &str,
        node: &dyn Fn(String, &str) -> Result<NodeId, Error>,
        link_between: &dyn Fn(String, NodeId, NodeId, Protocol) -> Result<LinkId, Error>,
        names: &[Names],
    ) -> Result<Action, Error> {
        Ok(match step {
            Step::Work => Action::Work,
            Step::Call { service } => {
                let to = node(format!("{field}.service"), service)?;
                if !matches!(self.nodes[to.0 as usize], NodeSpec::Service(_)) || to == me {
                    return Err(Error::new(
                        format!("{field}.service"),
                        Problem::NotAService(service.clone()),
                    ));
                }
                let link = link_between(format!("{field}.service"), me, to, Protocol::Http)?;
                Action::Call { service: to, link }
            }
            Step::Publish { broker, queue, exchange, mode } => {
                let b = node(format!("{field}.broker"), broker)?;
                let names = &names[b.0 as usize];
                let to = match exchange {
                    None => {
                        let Some(index) = names.queues.iter().position(|q| q == queue) else {
                            return Err(Error::new(
                                format!("{field}.queue"),
                                Problem::UnknownQueue(queue.clone()),
                            ));
                        };
                        Route::Queue(QueueId { broker: b, index: index as u16 })
                    }
                    Some(_) if !queue.is_empty() => {
                        return Err(Error::new(
                            format!("{field}.exchange"),
                            Problem::Conflicts("queue".into()),
                        ));
                    }
                    Some(x) => {
                        let Some(index) = names.exchanges.iter().position(|e| e == x) else {
                            return Err(Error::new(
                                format!("{field}.exchange"),
                                Problem::UnknownExchange(x.clone()),
                            ));
                        };
                        Route::Exchange(ExchangeId { broker: b, index: index as u16 })
                    }
                };
                let link = link_between(format!("{field}.broker"), me, b, Protocol::Amqp)?;
                let period = |ms: f64, name: &str| {
                    SimDuration::from_millis_f64(ms).filter(|d| *d > SimDuration::ZERO).ok_or_else(
                        || Error::new(format!("{field}.mode.{name}"), Problem::BadGap(ms)),
                    )
                };
                let mode = match *mode {
                    PublishMode::FireAndForget => Publishing::FireAndForget,
                    PublishMode::AwaitConfirm { timeout_ms } => {
                        Publishing::AwaitConfirm(period(timeout_ms, "timeout_ms")?)
                    }
                    PublishMode::Outbox { retry_ms } => {
                        Publishing::Outbox(period(retry_ms, "retry_ms")?)
                    }
                };
                Action::Publish { to, link, mode }
            }
            Step::Notify { topic } => {
                if topic.trim().is_empty() {
                    return Err(Error::new(format!("{field}.topic"), Problem::Empty));
                }
                // Every notified topic is in the list: it was made from these very steps.
                let index =
                    names[me.0 as usize].notified.iter().position(|t| t == topic).unwrap_or(0);
                Action::Notify { topic: index as u16 }
            }
            Step::Produce { log, topic, keys } => {
                let l = node(format!("{field}.log"), log)?;
                let Some(index) = names[l.0 as usize].topics.iter().position(|t| t == topic) else {
                    return Err(Error::new(
                        format!("{field}.topic"),
                        Problem::UnknownTopic(topic.clone()),
                    ));
                };
                if *keys == 0 {
                    return Err(Error::new(
                        format!("{field}.keys"),
                        Problem::OutOfRange(1, u32::MAX),
                    ));
                }
                let link = link_between(format!("{field}.log"), me, l, Protocol::Kafka)?;
                let topic = TopicId { log: l, index: index as u16 };
                Action::Produce { topic, link, keys: *keys }
            }
        })
    }
}

fn client(spec: &ClientSpec, f: &str) -> Result<Client, Error> {
    let timeout = match spec.timeout_ms {
        None => None,
        Some(ms) => Some(
            SimDuration::from_millis_f64(ms)
                .filter(|d| *d > SimDuration::ZERO)
                .ok_or_else(|| Error::new(format!("{f}.timeout_ms"), Problem::BadGap(ms)))?,
        ),
    };
    if spec.retries > MAX_RETRIES {
        return Err(Error::new(format!("{f}.retries"), Problem::OutOfRange(0, MAX_RETRIES)));
    }
    let backoff = SimDuration::from_millis_f64(spec.backoff_ms).ok_or_else(|| {
        Error::new(format!("{f}.backoff_ms"), Problem::BadDuration(spec.backoff_ms))
    })?;
    if !(0.0..=1.0).contains(&spec.jitter) {
        return Err(Error::new(format!("{f}.jitter"), Problem::BadShare(spec.jitter)));
    }
    Ok(Client {
        timeout,
        retries: spec.retries,
        backoff,
        jitter_per_mille: (spec.jitter * 1000.0).round() as u16,
        idempotency_key: spec.idempotency_key,
    })
}

/// A queue's consumers by name, each with its field: `consumer` or `consumers[k]`, one of
/// the two and not both.
fn consumer_names<'s>(spec: &'s QueueSpec, f: &str) -> Result<Vec<(String, &'s str)>, Error> {
    match (spec.consumer.is_empty(), spec.consumers.is_empty()) {
        (false, true) => Ok(vec![(format!("{f}.consumer"), spec.consumer.as_str())]),
        (true, false) => {
            if spec.consumers.len() > MAX_NODES {
                return Err(Error::new(format!("{f}.consumers"), Problem::TooMany(MAX_NODES)));
            }
            let each = spec.consumers.iter().enumerate();
            Ok(each.map(|(k, c)| (format!("{f}.consumers[{k}]"), c.as_str())).collect())
        }
        (true, true) => Err(Error::new(format!("{f}.consumer"), Problem::Empty)),
        (false, false) => {
            Err(Error::new(format!("{f}.consumers"), Problem::Conflicts("consumer".into())))
        }
    }
}

/// The names a step can refer to at each node: a broker's queues and exchanges, a log's
/// topics, and the topics a service's `notify` steps name (in order of first mention).
#[derive(Default)]
struct Names<'s> {
    queues: Vec<&'s str>,
    exchanges: Vec<&'s str>,
    topics: Vec<&'s str>,
    notified: Vec<&'s str>,
}

/// The topics a service's `notify` steps name, in order of first mention.
fn notified_by(s: &ServiceSpec) -> Vec<&str> {
    let mut topics: Vec<&str> = Vec::new();
    for step in s.on_trigger.iter().chain(&s.on_request).chain(&s.on_message) {
        if let Step::Notify { topic } = step {
            if !topics.contains(&topic.as_str()) {
                topics.push(topic);
            }
        }
    }
    topics
}

fn names_of(nodes: &[NodeSpec]) -> Vec<Names<'_>> {
    nodes
        .iter()
        .map(|n| match n {
            NodeSpec::Broker(b) => Names {
                queues: b.queues.iter().map(|q| q.name.as_str()).collect(),
                exchanges: b.exchanges.iter().map(|x| x.name.as_str()).collect(),
                ..Names::default()
            },
            NodeSpec::Log(l) => Names {
                topics: l.topics.iter().map(|t| t.name.as_str()).collect(),
                ..Names::default()
            },
            NodeSpec::Service(s) => Names { notified: notified_by(s), ..Names::default() },
        })
        .collect()
}

/// A broker's exchanges, checked: named once each, bound to at least one of its queues, each
/// queue once. `f` is the broker's field.
fn exchanges_of(b: &BrokerSpec, f: &str) -> Result<Vec<Exchange>, Error> {
    if b.exchanges.len() > MAX_EXCHANGES {
        return Err(Error::new(format!("{f}.exchanges"), Problem::TooMany(MAX_EXCHANGES)));
    }
    let mut out: Vec<Exchange> = Vec::with_capacity(b.exchanges.len());
    for (x, spec) in b.exchanges.iter().enumerate() {
        let f = format!("{f}.exchanges[{x}]");
        if spec.name.trim().is_empty() {
            return Err(Error::new(format!("{f}.name"), Problem::Empty));
        }
        if out.iter().any(|o| o.name == spec.name) {
            return Err(Error::new(format!("{f}.name"), Problem::Duplicate(spec.name.clone())));
        }
        if spec.queues.is_empty() {
            return Err(Error::new(format!("{f}.queues"), Problem::Empty));
        }
        let mut queues: Vec<u16> = Vec::with_capacity(spec.queues.len());
        for (k, name) in spec.queues.iter().enumerate() {
            let field = format!("{f}.queues[{k}]");
            let Some(index) = b.queues.iter().position(|q| q.name == *name) else {
                return Err(Error::new(field, Problem::UnknownQueue(name.clone())));
            };
            if queues.contains(&(index as u16)) {
                return Err(Error::new(field, Problem::Duplicate(name.clone())));
            }
            queues.push(index as u16);
        }
        out.push(Exchange { name: spec.name.clone(), queues });
    }
    Ok(out)
}

impl NodeSpec {
    pub fn id(&self) -> &str {
        match self {
            NodeSpec::Service(s) => &s.id,
            NodeSpec::Broker(b) => &b.id,
            NodeSpec::Log(l) => &l.id,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            NodeSpec::Service(s) => &s.label,
            NodeSpec::Broker(b) => &b.label,
            NodeSpec::Log(l) => &l.label,
        }
    }
}

impl Model {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    pub fn node_named(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.id == name).map(|i| NodeId(i as u16))
    }

    pub fn link(&self, id: LinkId) -> &Link {
        &self.links[id.0 as usize]
    }

    /// Every queue of every broker.
    pub fn queue_ids(&self) -> impl Iterator<Item = QueueId> + '_ {
        self.nodes.iter().enumerate().flat_map(|(i, n)| {
            let count = match &n.role {
                Role::Broker(b) => b.queues.len(),
                Role::Service(_) | Role::Log(_) => 0,
            };
            (0..count).map(move |q| QueueId { broker: NodeId(i as u16), index: q as u16 })
        })
    }

    /// The exchange's definition, if `id` names one.
    pub fn exchange(&self, id: ExchangeId) -> Option<&Exchange> {
        match &self.nodes.get(id.broker.0 as usize)?.role {
            Role::Broker(b) => b.exchanges.get(id.index as usize),
            Role::Service(_) | Role::Log(_) => None,
        }
    }

    /// The queue's definition, if `id` names one.
    pub fn queue(&self, id: QueueId) -> Option<&Queue> {
        match &self.nodes.get(id.broker.0 as usize)?.role {
            Role::Broker(b) => b.queues.get(id.index as usize),
            Role::Service(_) | Role::Log(_) => None,
        }
    }

    /// The topic's definition, if `id` names one.
    pub fn topic(&self, id: TopicId) -> Option<&Topic> {
        match &self.nodes.get(id.log.0 as usize)?.role {
            Role::Log(l) => l.topics.get(id.index as usize),
            Role::Service(_) | Role::Broker(_) => None,
        }
    }
}
