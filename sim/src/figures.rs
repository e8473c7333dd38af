//! The three classic pictures of how microservices talk, as built-in scenarios. Each one's
//! node ids are stable: the app and the tests find nodes by them.
//!
//! - [`request_response`]: A calls B over HTTP and is blocked until B answers.
//! - [`broker`]: A publishes through a broker over AMQP; B consumes in its own time.
//! - [`hybrid`]: A calls B over HTTP; before answering, B publishes a message for C through
//!   the broker, and does not wait for C.
//!
//! Beyond the three: [`graphql`], a mutation over HTTP whose effect the server pushes to a
//! subscribed client, and [`partitioned_log`], a Kafka-style log whose topic's partitions are
//! shared by two consumers.
//!
//! And one for the checks against queueing theory: [`queue`], a service fed by a Poisson
//! workload.

use crate::scenario::{
    Arrivals, BrokerSpec, ClientSpec, LatencySpec, LinkSpec, LogSpec, NodeSpec, Partitioner,
    Protocol, PublishMode, QueueSpec, Scenario, ServiceSpec, Step, SubscriptionSpec, TopicSpec,
    WorkloadSpec,
};

/// The seed every figure starts with.
pub const SEED: u64 = 2026;

/// Figure 1: synchronous request/response.
pub fn request_response() -> Scenario {
    Scenario {
        name: "request-response".into(),
        seed: SEED,
        nodes: vec![
            service("a", "Microservice A", 20.0, vec![call("b"), Step::Work], vec![], vec![]),
            service("b", "Microservice B", 400.0, vec![], vec![Step::Work], vec![]),
        ],
        links: vec![link("a", "b", Protocol::Http, 60.0)],
        workloads: vec![],
        faults: vec![],
    }
}

/// Figure 2: asynchronous, through a message broker.
pub fn broker() -> Scenario {
    Scenario {
        name: "broker".into(),
        seed: SEED,
        nodes: vec![
            service(
                "a",
                "Microservice A",
                20.0,
                vec![publish("orders"), Step::Work],
                vec![],
                vec![],
            ),
            queue_broker("orders", "b"),
            service("b", "Microservice B", 900.0, vec![], vec![], vec![Step::Work]),
        ],
        links: vec![
            link("a", "broker", Protocol::Amqp, 40.0),
            link("broker", "b", Protocol::Amqp, 40.0),
        ],
        workloads: vec![],
        faults: vec![],
    }
}

/// Figure 3: hybrid. B answers A's HTTP call and, before it does, publishes for C.
pub fn hybrid() -> Scenario {
    Scenario {
        name: "hybrid".into(),
        seed: SEED,
        nodes: vec![
            service("a", "Microservice A", 20.0, vec![call("b"), Step::Work], vec![], vec![]),
            service(
                "b",
                "Microservice B",
                250.0,
                vec![],
                vec![Step::Work, publish("events")],
                vec![],
            ),
            queue_broker("events", "c"),
            service("c", "Microservice C", 1200.0, vec![], vec![], vec![Step::Work]),
        ],
        links: vec![
            link("a", "b", Protocol::Http, 60.0),
            link("b", "broker", Protocol::Amqp, 40.0),
            link("broker", "c", Protocol::Amqp, 40.0),
        ],
        workloads: vec![],
        faults: vec![],
    }
}

/// The textbook queue: one service with `workers` workers whose jobs arrive as a Poisson
/// process at `per_s` a second and each need an exponential time with mean `service_ms`; M/M/c
/// in Kendall's notation, M/M/1 with one worker. The workload stops after `jobs` arrivals.
pub fn queue(per_s: f64, service_ms: f64, workers: u32, jobs: u64) -> Scenario {
    Scenario {
        name: "queue".into(),
        seed: SEED,
        nodes: vec![NodeSpec::Service(ServiceSpec {
            id: "s".into(),
            label: "Service".into(),
            workers,
            processing: LatencySpec::Exponential { mean_ms: service_ms },
            on_trigger: vec![Step::Work],
            on_request: vec![],
            on_message: vec![],
            client: ClientSpec::default(),
            subscribe: vec![],
            idempotent_consumer: false,
        })],
        links: vec![],
        workloads: vec![WorkloadSpec {
            service: "s".into(),
            arrivals: Arrivals::Poisson { per_s },
            count: Some(jobs),
        }],
        faults: vec![],
    }
}

fn service(
    id: &str,
    label: &str,
    processing_ms: f64,
    on_trigger: Vec<Step>,
    on_request: Vec<Step>,
    on_message: Vec<Step>,
) -> NodeSpec {
    NodeSpec::Service(ServiceSpec {
        id: id.into(),
        label: label.into(),
        workers: 1,
        processing: LatencySpec::Constant { ms: processing_ms },
        on_trigger,
        on_request,
        on_message,
        client: ClientSpec::default(),
        subscribe: vec![],
        idempotent_consumer: false,
    })
}

fn queue_broker(queue: &str, consumer: &str) -> NodeSpec {
    NodeSpec::Broker(BrokerSpec {
        id: "broker".into(),
        label: "Message broker".into(),
        queues: vec![QueueSpec {
            name: queue.into(),
            consumer: consumer.into(),
            prefetch: 1,
            ..QueueSpec::default()
        }],
        exchanges: vec![],
    })
}

fn call(service: &str) -> Step {
    Step::Call { service: service.into() }
}

fn publish(queue: &str) -> Step {
    Step::Publish {
        broker: "broker".into(),
        queue: queue.into(),
        exchange: None,
        mode: PublishMode::FireAndForget,
    }
}

fn link(a: &str, b: &str, protocol: Protocol, latency_ms: f64) -> LinkSpec {
    LinkSpec {
        a: a.into(),
        b: b.into(),
        protocol,
        latency: LatencySpec::Constant { ms: latency_ms },
    }
}

/// A Kafka-style log: A produces records about four customers (the keys) to a topic of three
/// partitions, which two instances of B share; their work takes between 0.3 and 1.2 s, so
/// they overtake each other. By key, each customer's records stay in order; round robin
/// spreads one customer's records over partitions, and they may be handled out of order.
pub fn partitioned_log(partitioner: Partitioner) -> Scenario {
    let produce = Step::Produce { log: "log".into(), topic: "orders".into(), keys: 4 };
    let consumer = |id: &str, label: &str| {
        let mut s = service(id, label, 300.0, vec![], vec![], vec![Step::Work]);
        if let NodeSpec::Service(spec) = &mut s {
            spec.processing = LatencySpec::Uniform { min_ms: 300.0, max_ms: 1200.0 };
        }
        s
    };
    Scenario {
        name: "partitioned-log".into(),
        seed: SEED,
        nodes: vec![
            service("a", "Microservice A", 20.0, vec![produce, Step::Work], vec![], vec![]),
            NodeSpec::Log(LogSpec {
                id: "log".into(),
                label: "Log".into(),
                topics: vec![TopicSpec {
                    name: "orders".into(),
                    partitions: 3,
                    partitioner,
                    consumers: vec!["b1".into(), "b2".into()],
                }],
            }),
            consumer("b1", "Microservice B1"),
            consumer("b2", "Microservice B2"),
        ],
        links: vec![
            link("a", "log", Protocol::Kafka, 40.0),
            link("log", "b1", Protocol::Kafka, 40.0),
            link("log", "b2", Protocol::Kafka, 40.0),
        ],
        workloads: vec![],
        faults: vec![],
    }
}

/// GraphQL: A sends a mutation over HTTP and waits for its answer, as it would for a query.
/// The server does the work, pushes an `orderPlaced` event to every subscriber (C subscribed
/// over a WebSocket when the run began) and answers A. C gets the event without asking, and
/// its own work delays nobody.
pub fn graphql() -> Scenario {
    let notify = Step::Notify { topic: "orderPlaced".into() };
    let mut c = service("c", "Client C", 150.0, vec![], vec![], vec![Step::Work]);
    if let NodeSpec::Service(spec) = &mut c {
        spec.subscribe =
            vec![SubscriptionSpec { server: "api".into(), topic: "orderPlaced".into() }];
    }
    Scenario {
        name: "graphql".into(),
        seed: SEED,
        nodes: vec![
            service("a", "Client A", 20.0, vec![call("api"), Step::Work], vec![], vec![]),
            service("api", "GraphQL API", 300.0, vec![], vec![Step::Work, notify], vec![]),
            c,
        ],
        links: vec![
            link("a", "api", Protocol::Http, 60.0),
            link("api", "c", Protocol::WebSocket, 60.0),
        ],
        workloads: vec![],
        faults: vec![],
    }
}
