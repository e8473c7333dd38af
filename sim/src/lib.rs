//! callflow-sim: a deterministic discrete-event simulator of services that talk over HTTP and
//! through a message broker. It has no web dependencies; the same code runs natively and in
//! wasm, and the same scenario and seed give the same trace on both.
//!
//! The map:
//! - [`scenario`]: the input as plain data, and its validation into a [`Model`];
//! - [`engine`]: the clock, the agenda and the wire; [`Sim`] is the run;
//! - [`service`] (crate-private): workers running jobs, and the HTTP rules (a call blocks its
//!   worker until the response); the three ways to publish (fire and forget, await the
//!   confirm, through a durable outbox and its relay); the idempotent consumer's store;
//! - [`broker`] (crate-private): AMQP-style queues and fan-out exchanges: publish, confirm,
//!   deliver to one consumer or competing ones, ack and nack, and taking back unacked
//!   deliveries when a consumer or the broker crashes;
//! - [`log`] (crate-private): a Kafka-style partitioned log: keyed records, partitions read in
//!   order by one member of the consumer group each, commits, rebalancing when members come
//!   and go;
//! - [`trace`]: what happened, as typed events: the only thing the app reads;
//! - [`figures`]: the three classic pictures as built-in scenarios;
//! - [`time`], [`rng`]: simulated time in microseconds, and the seeded generator.
//!
//! ```
//! use callflow_sim::{figures, Sim};
//!
//! let mut sim = Sim::new(&figures::request_response()).unwrap();
//! let a = sim.model().node_named("a").unwrap();
//! sim.trigger(a).unwrap();
//! sim.run_until_idle(1_000);
//! assert!(sim.in_flight().next().is_none());
//! ```

mod broker;
pub mod engine;
mod error;
pub mod figures;
mod log;
pub mod rng;
pub mod scenario;
mod service;
pub mod time;
pub mod trace;

pub use engine::{Envelope, Sim};
pub use error::{Error, Problem};
pub use scenario::{
    ExchangeId, LatencySpec, LinkId, Model, NodeId, Protocol, QueueId, Route, Scenario, TopicId,
};
pub use time::{SimDuration, SimTime};
pub use trace::{Event, EventKind, JobId, MsgId, Payload, Trace};

/// The README's example, compiled and run with the doctests so that it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeExample;
