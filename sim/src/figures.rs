//! The three classic pictures of how microservices talk, as built-in scenarios. Each one's
//! node ids are stable: the app and the tests find nodes by them.
//!
//! - [`request_response`]: A calls B over HTTP and is blocked until B answers.
//! - [`broker`]: A publishes through a broker over AMQP; B consumes in its own time.
//! - [`hybrid`]: A calls B over HTTP; before answering, B publishes a message for C through
//!   the broker, and does not wait for C.
//!
//! And one for the checks against queueing theory: [`queue`], a service fed by a Poisson
//! workload.

use crate::scenario::{
    Arrivals, BrokerSpec, ClientSpec, LatencySpec, LinkSpec, NodeSpec, Protocol, PublishMode,
    QueueSpec, Scenario, ServiceSpec, Step, WorkloadSpec,
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
