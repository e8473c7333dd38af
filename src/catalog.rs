//! The three figures as the page presents them: which scenario, what the reader's action is
//! called, and the caption that teaches the figure's point.

use callflow_sim::{figures, Model, Scenario};

/// One of the figures on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FigureKind {
    RequestResponse,
    Broker,
    Hybrid,
}

impl FigureKind {
    pub const ALL: [FigureKind; 3] =
        [FigureKind::RequestResponse, FigureKind::Broker, FigureKind::Hybrid];

    pub fn scenario(self) -> Scenario {
        match self {
            FigureKind::RequestResponse => figures::request_response(),
            FigureKind::Broker => figures::broker(),
            FigureKind::Hybrid => figures::hybrid(),
        }
    }

    /// The figure's model, checked.
    pub fn model(self) -> Model {
        self.scenario().validate().expect("built-in figures are valid: the sim's tests say so")
    }

    /// The figure a slug names.
    pub fn from_slug(slug: &str) -> Option<FigureKind> {
        FigureKind::ALL.into_iter().find(|k| k.slug() == slug)
    }

    /// A short name used in element ids, links and test hooks.
    pub fn slug(self) -> &'static str {
        match self {
            FigureKind::RequestResponse => "sync",
            FigureKind::Broker => "async",
            FigureKind::Hybrid => "hybrid",
        }
    }

    pub fn number(self) -> u8 {
        match self {
            FigureKind::RequestResponse => 1,
            FigureKind::Broker => 2,
            FigureKind::Hybrid => 3,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            FigureKind::RequestResponse => "Synchronous: an HTTP request and its response",
            FigureKind::Broker => "Asynchronous: a message through a broker",
            FigureKind::Hybrid => "Hybrid: HTTP in front, a message behind",
        }
    }

    /// The label of the button that starts a job on service A.
    pub fn action(self) -> &'static str {
        match self {
            FigureKind::RequestResponse | FigureKind::Hybrid => "Send request",
            FigureKind::Broker => "Publish message",
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
        }
    }
}
