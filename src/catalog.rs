//! The figures as the page presents them, the three classic ones and two beyond them: which scenario, what the reader's action is
//! called, and the caption that teaches the figure's point.

use callflow_sim::scenario::Partitioner;
use callflow_sim::{figures, Model, Scenario};

/// One of the figures on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FigureKind {
    RequestResponse,
    Broker,
    Hybrid,
    /// GraphQL: a mutation over HTTP, its event pushed to a subscriber.
    GraphQl,
    /// A Kafka-style partitioned log shared by two consumers.
    Log,
}

impl FigureKind {
    /// The three classic figures, in the page's order.
    pub const ALL: [FigureKind; 3] =
        [FigureKind::RequestResponse, FigureKind::Broker, FigureKind::Hybrid];

    /// The figures beyond the three, at the end of the page.
    pub const BEYOND: [FigureKind; 2] = [FigureKind::GraphQl, FigureKind::Log];

    /// Every figure.
    pub const EVERY: [FigureKind; 5] = [
        FigureKind::RequestResponse,
        FigureKind::Broker,
        FigureKind::Hybrid,
        FigureKind::GraphQl,
        FigureKind::Log,
    ];

    /// The figures' slugs, for messages that list them.
    pub const SLUGS: &'static str = "sync, async, hybrid, graphql or log";

    pub fn scenario(self) -> Scenario {
        match self {
            FigureKind::RequestResponse => figures::request_response(),
            FigureKind::Broker => figures::broker(),
            FigureKind::Hybrid => figures::hybrid(),
            FigureKind::GraphQl => figures::graphql(),
            FigureKind::Log => figures::partitioned_log(Partitioner::ByKey),
        }
    }

    /// The figure's model, checked.
    pub fn model(self) -> Model {
        self.scenario().validate().expect("built-in figures are valid: the sim's tests say so")
    }

    /// The figure a slug names.
    pub fn from_slug(slug: &str) -> Option<FigureKind> {
        FigureKind::EVERY.into_iter().find(|k| k.slug() == slug)
    }

    /// A short name used in element ids, links and test hooks.
    pub fn slug(self) -> &'static str {
        match self {
            FigureKind::RequestResponse => "sync",
            FigureKind::Broker => "async",
            FigureKind::Hybrid => "hybrid",
            FigureKind::GraphQl => "graphql",
            FigureKind::Log => "log",
        }
    }

    pub fn number(self) -> u8 {
        match self {
            FigureKind::RequestResponse => 1,
            FigureKind::Broker => 2,
            FigureKind::Hybrid => 3,
            FigureKind::GraphQl => 4,
            FigureKind::Log => 5,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            FigureKind::RequestResponse => "Synchronous: an HTTP request and its response",
            FigureKind::Broker => "Asynchronous: a message through a broker",
            FigureKind::Hybrid => "Hybrid: HTTP in front, a message behind",
            FigureKind::GraphQl => "GraphQL: a mutation answered, its event pushed",
            FigureKind::Log => "A partitioned log: order per key, not across partitions",
        }
    }

    /// The label of the button that starts a job on service A.
    pub fn action(self) -> &'static str {
        match self {
            FigureKind::RequestResponse | FigureKind::Hybrid => "Send request",
            FigureKind::Broker => "Publish message",
            FigureKind::GraphQl => "Send mutation",
            FigureKind::Log => "Produce record",
        }
    }

    pub fn caption(self) -> &'static str {
        match self {
            FigureKind::RequestResponse => {
                "A asks B over HTTP, as a REST call would, and then has nothing to do but wait. \
                 Its worker is held from the moment the request leaves until the response comes \
                 back, whether B needs a millisecond or several seconds. Make B slow and watch \
                 A's waiting time grow with it: the caller's time is tied to the callee's."
            }
            FigureKind::Broker => {
                "A hands its message to the broker and is done: fire and forget. The broker \
                 stores the message, confirms to A that it has it, and delivers it to B when B is \
                 free; B acknowledges once it has done its work. Publish several times quickly: \
                 A never waits for the broker or for B, only for its own short work between \
                 messages; the messages pile up in the queue, and B takes them one by one in its \
                 own time."
            }
            FigureKind::Hybrid => {
                "A calls B over HTTP and waits. Before answering, B publishes a message for C \
                 through the broker, with what C needs for its own job, and then answers A at \
                 once. A's wait covers B's work but none of C's: make C slow, and A is still \
                 answered just as fast."
            }
            FigureKind::GraphQl => {
                "GraphQL mixes the two styles in one API. A sends a mutation over HTTP and waits \
                 for its answer, as it would for a query. C subscribed when the page opened, over \
                 a WebSocket that stays open: when the API has done the mutation's work, it \
                 pushes an event to C, unasked, and answers A without waiting for C. Crash C and \
                 send again: the API pushes to nobody, and C, once back, subscribes again but \
                 never hears what it missed."
            }
            FigureKind::Log => {
                "A Kafka-style log keeps each record in one partition of its topic, in the order \
                 it arrived there. Each partition belongs to one of the two instances of B, which \
                 takes its records one at a time and commits each before the next. A's records are \
                 about four customers (the key, k0 to k3); by key, one customer's records share a \
                 partition and are handled in order. Nothing orders records in different \
                 partitions: B1 and B2 work at their own pace. Switch to round robin and produce \
                 several records quickly: one customer's records spread over partitions, and the \
                 check below the diagram soon shows one finished before an earlier one."
            }
        }
    }
}
