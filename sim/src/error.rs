//! The crate's one error type: bad input, named by the field it came from. Things that go wrong
//! inside the model (a slow reply, a full queue) are trace events, never errors.

use std::fmt;

use crate::scenario::Protocol;

/// Bad input: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    field: String,
    problem: Problem,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    Empty,
    Duplicate(String),
    UnknownNode(String),
    UnknownQueue(String),
    UnknownTopic(String),
    /// A link index the model does not have.
    UnknownLink(u16),
    NotAService(String),
    NotABroker(String),
    SelfLink,
    NoLink {
        a: String,
        b: String,
        protocol: Protocol,
    },
    /// A time that is negative, not a number, infinite, or longer than an hour (milliseconds).
    BadDuration(f64),
    MinAboveMax,
    /// A gap between arrivals that is not above zero and at most an hour (milliseconds).
    BadGap(f64),
    /// An arrival rate that is not between one an hour and a million a second.
    BadRate(f64),
    /// A share that is not between 0 and 1.
    BadShare(f64),
    /// No link of any protocol joins the two nodes.
    NoLinkAtAll(String, String),
    OutOfRange(u32, u32),
    TooMany(usize),
    /// The field and the one named here say the same thing in two ways: give one.
    Conflicts(String),
    UnknownExchange(String),
}

impl Error {
    pub fn new(field: impl Into<String>, problem: Problem) -> Error {
        Error { field: field.into(), problem }
    }

    /// The path of the rejected field, such as `nodes[1].workers`.
    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.field)?;
        match &self.problem {
            Problem::Empty => write!(f, "must not be empty"),
            Problem::Duplicate(name) => write!(f, "{name:?} is used twice"),
            Problem::UnknownNode(name) => write!(f, "no node is called {name:?}"),
            Problem::UnknownQueue(name) => write!(f, "the broker has no queue called {name:?}"),
            Problem::UnknownTopic(name) => write!(f, "the log has no topic called {name:?}"),
            Problem::UnknownExchange(name) => {
                write!(f, "the broker has no exchange called {name:?}")
            }
            Problem::UnknownLink(i) => write!(f, "there is no link number {i}"),
            Problem::NotAService(name) => write!(f, "{name:?} is not another service"),
            Problem::NotABroker(name) => write!(f, "{name:?} is not a broker"),
            Problem::SelfLink => write!(f, "a link must join two different nodes"),
            Problem::NoLink { a, b, protocol } => {
                write!(f, "no {} link joins {a:?} and {b:?}", protocol.name())
            }
            Problem::BadDuration(v) => {
                write!(f, "{v} is not a time between 0 and 3600000 milliseconds")
            }
            Problem::MinAboveMax => write!(f, "the minimum is above the maximum"),
            Problem::BadGap(v) => {
                write!(f, "{v} is not a time above 0 and at most 3600000 milliseconds")
            }
            Problem::BadShare(v) => write!(f, "{v} is not a share between 0 and 1"),
            Problem::NoLinkAtAll(a, b) => write!(f, "no link joins {a:?} and {b:?}"),
            Problem::BadRate(v) => {
                write!(f, "{v} is not a rate between 1/3600 and 1000000 a second")
            }
            Problem::OutOfRange(lo, hi) => write!(f, "must be between {lo} and {hi}"),
            Problem::TooMany(n) => write!(f, "at most {n} are allowed"),
            Problem::Conflicts(other) => {
                write!(f, "cannot be given together with {other:?}: give one of the two")
            }
        }
    }
}

impl std::error::Error for Error {}
