//! The run as a sequence diagram: a lane per node, simulated time running down, each message an
//! arrow from its send time on the sender's lane to its arrival on the receiver's, a bar on a
//! caller's lane while a call holds it, and a mark where something went wrong. Folded from
//! trace events one at a time, as the scene is, and laid out for a window of time by pure
//! functions.
//!
//! # Limitations
//!
//! Only the newest [`KEEP`] messages, bars and marks are kept: a reader scrolls back as far as
//! the oldest of them. Arrows that share an instant and a pair of lanes are drawn on top of each
//! other.

use std::collections::{BTreeMap, VecDeque};

use callflow_sim::scenario::Role;
use callflow_sim::trace::DropReason;
use callflow_sim::{Event, EventKind, Model, MsgId, NodeId, Payload, SimDuration, SimTime};

use crate::narration::short;
use crate::playback::token_kind;

/// How many messages, and how many bars and marks, the diagram keeps; older ones are forgotten,
/// so that a long run stays bounded.
pub const KEEP: usize = 400;

/// How much the messages list for screen readers holds.
pub const RECENT: usize = 4;

/// The narrowest and widest window a reader may zoom to.
pub const MIN_SPAN: SimDuration = SimDuration::from_millis(10);
pub const MAX_SPAN: SimDuration = SimDuration::from_millis(600_000);

/// Whether the sender waits for an answer (HTTP) or not (the broker's traffic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Sync,
    Async,
}

impl Style {
    pub fn of(payload: &Payload) -> Style {
        match payload {
            Payload::HttpRequest { .. } | Payload::HttpResponse { .. } => Style::Sync,
            _ => Style::Async,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Style::Sync => "sync",
            Style::Async => "async",
        }
    }
}

/// How a message's trip ended, if it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    OnWire,
    Received,
    Dropped(DropReason),
    /// It arrived, and nobody there expected it any more.
    Discarded,
}

/// One envelope, as its events told it.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MsgId,
    pub from: NodeId,
    pub to: NodeId,
    pub sent: SimTime,
    /// When it arrives, or arrived, or would have.
    pub arrives: SimTime,
    pub payload: Payload,
    pub fate: Fate,
}

/// A worker held by a call: from its first request until the answer, or until it gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activation {
    pub node: NodeId,
    pub worker: u32,
    pub since: SimTime,
    /// `None` while the call goes on.
    pub until: Option<SimTime>,
}

/// Something that went wrong, or came right again, on a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Dropped(DropReason),
    Discarded,
    TimedOut,
    GaveUp,
    Crashed,
    Recovered,
    Overflowed,
    DeadLettered,
}

impl MarkKind {
    /// The CSS class, which also picks the symbol.
    pub fn class(self) -> &'static str {
        match self {
            MarkKind::Dropped(_) => "dropped",
            MarkKind::Discarded => "discarded",
            MarkKind::TimedOut => "timeout",
            MarkKind::GaveUp => "gave-up",
            MarkKind::Crashed => "crashed",
            MarkKind::Recovered => "recovered",
            MarkKind::Overflowed => "overflowed",
            MarkKind::DeadLettered => "dead-lettered",
        }
    }

    /// A short label beside the symbol.
    pub fn label(self) -> &'static str {
        match self {
            MarkKind::Dropped(DropReason::LinkLoss) => "lost: link",
            MarkKind::Dropped(DropReason::Partition) => "lost: partition",
            MarkKind::Dropped(DropReason::NodeDown) => "lost: node down",
            MarkKind::Discarded => "ignored",
            MarkKind::TimedOut => "timeout",
            MarkKind::GaveUp => "gave up",
            MarkKind::Crashed => "crashed",
            MarkKind::Recovered => "back up",
            MarkKind::Overflowed => "queue full",
            MarkKind::DeadLettered => "dead-lettered",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub node: NodeId,
    pub at: SimTime,
    pub kind: MarkKind,
}

/// Everything the diagram remembers of the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequence {
    /// By id, which is also the order they were sent in.
    messages: BTreeMap<MsgId, Message>,
    activations: VecDeque<Activation>,
    marks: VecDeque<Mark>,
}

impl Sequence {
    pub fn new() -> Sequence {
        Sequence::default()
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: &Event) {
        match e.kind {
            EventKind::Sent { msg, from, to, payload, arrives, .. } => {
                let m =
                    Message { id: msg, from, to, sent: e.at, arrives, payload, fate: Fate::OnWire };
                self.messages.insert(msg, m);
                while self.messages.len() > KEEP {
                    self.messages.pop_first();
                }
            }
            EventKind::Received { msg, .. } => self.settle(msg, Fate::Received),
            EventKind::Dropped { msg, node, reason } => {
                self.settle(msg, Fate::Dropped(reason));
                self.mark(node, e.at, MarkKind::Dropped(reason));
            }
            EventKind::Discarded { msg, node } => {
                self.settle(msg, Fate::Discarded);
                self.mark(node, e.at, MarkKind::Discarded);
            }
            // A retry is the same call: its bar goes on.
            EventKind::CallBlocked { node, worker, .. } if !self.holds(node, worker) => {
                let bar = Activation { node, worker, since: e.at, until: None };
                self.activations.push_back(bar);
                if self.activations.len() > KEEP {
                    self.activations.pop_front();
                }
            }
            EventKind::CallReturned { node, worker, ok: true, .. }
            | EventKind::JobDone { node, worker, .. } => self.close(node, Some(worker), e.at),
            EventKind::CallFailed { node, worker, .. } => {
                self.close(node, Some(worker), e.at);
                self.mark(node, e.at, MarkKind::GaveUp);
            }
            EventKind::CallTimedOut { node, .. } => self.mark(node, e.at, MarkKind::TimedOut),
            EventKind::Crashed { node } => {
                self.close(node, None, e.at);
                self.mark(node, e.at, MarkKind::Crashed);
            }
            EventKind::Recovered { node } => self.mark(node, e.at, MarkKind::Recovered),
            EventKind::Overflowed { queue, .. } => {
                self.mark(queue.broker, e.at, MarkKind::Overflowed)
            }
            EventKind::DeadLettered { queue, .. } => {
                self.mark(queue.broker, e.at, MarkKind::DeadLettered)
            }
            _ => {}
        }
    }

    fn settle(&mut self, msg: MsgId, fate: Fate) {
        if let Some(m) = self.messages.get_mut(&msg) {
            m.fate = fate;
        }
    }

    fn mark(&mut self, node: NodeId, at: SimTime, kind: MarkKind) {
        self.marks.push_back(Mark { node, at, kind });
        if self.marks.len() > KEEP {
            self.marks.pop_front();
        }
    }

    /// A call holds `node`'s `worker`: its bar is open.
    fn holds(&self, node: NodeId, worker: u32) -> bool {
        self.activations.iter().any(|a| a.node == node && a.worker == worker && a.until.is_none())
    }

    /// Ends the open bars of `node`'s `worker`, or of all its workers.
    fn close(&mut self, node: NodeId, worker: Option<u32>, at: SimTime) {
        for a in self.activations.iter_mut().filter(|a| a.node == node && a.until.is_none()) {
            if worker.is_none_or(|w| w == a.worker) {
                a.until = Some(at);
            }
        }
    }

    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &Message> {
        self.messages.values()
    }

    pub fn activations(&self) -> impl Iterator<Item = &Activation> {
        self.activations.iter()
    }

    pub fn marks(&self) -> impl Iterator<Item = &Mark> {
        self.marks.iter()
    }

    /// The earliest time the diagram still knows something about.
    pub fn oldest(&self) -> Option<SimTime> {
        let m = self.messages.values().next().map(|m| m.sent);
        let a = self.activations.front().map(|a| a.since);
        let k = self.marks.front().map(|k| k.at);
        [m, a, k].into_iter().flatten().min()
    }

    /// The newest messages in words, newest last, for readers who cannot see the picture.
    pub fn recent(&self, model: &Model, now: SimTime) -> Vec<String> {
        let mut lines: Vec<String> =
            self.messages.values().rev().take(RECENT).map(|m| describe(model, m, now)).collect();
        lines.reverse();
        lines
    }
}

/// One message in words: who sent what to whom, and when it left and arrived.
pub fn describe(model: &Model, m: &Message, now: SimTime) -> String {
    let what = match m.payload {
        Payload::HttpRequest { attempt: 1, .. } => "HTTP request".to_string(),
        Payload::HttpRequest { attempt, .. } => format!("HTTP request, attempt {attempt}"),
        Payload::HttpResponse { ok: true, .. } => "HTTP response".into(),
        Payload::HttpResponse { ok: false, .. } => "HTTP error response".into(),
        Payload::Publish { .. } | Payload::PublishTo { .. } => "message to publish".into(),
        Payload::Nack { .. } => "nack".into(),
        Payload::Confirm { ok: true, .. } => "confirm".into(),
        Payload::Confirm { ok: false, .. } => "refusal (queue full)".into(),
        Payload::Deliver { .. } => "delivered message".into(),
        Payload::Ack { .. } => "ack".into(),
        Payload::Produce { key, .. } => format!("record with key k{key}"),
        Payload::Produced { partition, offset, .. } => {
            format!("stored at partition {partition}, offset {offset}")
        }
        Payload::Record { partition, offset, .. } => {
            format!("record of partition {partition}, offset {offset}")
        }
        Payload::Commit { partition, offset, .. } => {
            format!("commit of partition {partition}, offset {offset}")
        }
        Payload::Subscribe { .. } => "subscription".into(),
        Payload::Push { .. } => "pushed event".into(),
    };
    let end = match m.fate {
        Fate::OnWire if m.arrives > now => format!("on the wire, due at {}", at(m.arrives)),
        Fate::OnWire | Fate::Received => format!("arrived at {}", at(m.arrives)),
        Fate::Dropped(reason) => format!("lost at {} ({})", at(m.arrives), reason_text(reason)),
        Fate::Discarded => format!("arrived at {}, ignored", at(m.arrives)),
    };
    format!(
        "{} → {}: {what}, sent at {}, {end}.",
        lane_name(model, m.from),
        lane_name(model, m.to),
        at(m.sent)
    )
}

fn reason_text(r: DropReason) -> &'static str {
    match r {
        DropReason::LinkLoss => "the link lost it",
        DropReason::Partition => "the two sides are cut off",
        DropReason::NodeDown => "its destination is down",
    }
}

/// A time since the start, as the status line says it.
fn at(t: SimTime) -> String {
    (t - SimTime::ZERO).to_string()
}

/// A lane's title: "A", "Broker".
pub fn lane_name(model: &Model, id: NodeId) -> String {
    match model.node(id).role {
        Role::Broker(_) => "Broker".into(),
        Role::Log(_) => "Log".into(),
        Role::Service(_) => short(model, id),
    }
}

/// The part of the run the diagram shows: a span of simulated time that ends at "now" while it
/// follows the run, or at a time the reader scrolled back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewport {
    pub span: SimDuration,
    /// Where the window ends when the reader has scrolled back; `None`: it follows now.
    pub held: Option<SimTime>,
}

impl Viewport {
    pub fn new(span: SimDuration) -> Viewport {
        Viewport { span: span.clamp(MIN_SPAN, MAX_SPAN), held: None }
    }

    /// The window shown at `now`: `span` long, ending at now (or where held), and starting no
    /// earlier than the run's start.
    pub fn window(&self, now: SimTime) -> (SimTime, SimTime) {
        let end = self.held.map_or(now, |h| h.min(now));
        let end = end.max(SimTime::ZERO + self.span);
        (SimTime::from_micros(end.as_micros() - self.span.as_micros()), end)
    }

    pub fn following(&self) -> bool {
        self.held.is_none()
    }

    /// Half a window earlier, but not before `oldest` comes into view.
    pub fn earlier(self, now: SimTime, oldest: Option<SimTime>) -> Viewport {
        let (_, end) = self.window(now);
        let back = SimTime::from_micros(end.as_micros().saturating_sub(self.span.as_micros() / 2));
        let floor = oldest.unwrap_or(SimTime::ZERO) + self.span;
        Viewport { held: Some(back.max(floor).min(end)), ..self }
    }

    /// Half a window later; reaching now, it follows the run again.
    pub fn later(self, now: SimTime) -> Viewport {
        let (_, end) = self.window(now);
        let on = end + SimDuration::from_micros(self.span.as_micros() / 2);
        Viewport { held: (on < now).then_some(on), ..self }
    }

    pub fn follow(self) -> Viewport {
        Viewport { held: None, ..self }
    }

    /// Shows `factor` times as much time (below 1: zooms in), keeping the window's end.
    pub fn zoom(self, factor: f64, now: SimTime) -> Viewport {
        let us = self.span.as_micros() as f64 * factor;
        let span = if us.is_finite() && us > 0.0 {
            SimDuration::from_micros(us.round() as u64)
        } else {
            self.span
        };
        let held = self.held.map(|_| self.window(now).1);
        Viewport { span: span.clamp(MIN_SPAN, MAX_SPAN), held }
    }
}

/// A window that shows one job of the figure whole, with room: each link crossed twice and each
/// service's work once, times one and a half, rounded up to 1, 2, 3 or 5 times a power of ten.
pub fn default_span(model: &Model) -> SimDuration {
    let links: u64 = model.links.iter().map(|l| 2 * l.latency.mean().as_micros()).sum();
    let work: u64 = model
        .nodes
        .iter()
        .map(|n| match &n.role {
            Role::Service(s) => s.processing.mean().as_micros(),
            Role::Broker(_) | Role::Log(_) => 0,
        })
        .sum();
    let want = (links + work) as f64 * 1.5;
    SimDuration::from_micros(nice(want).round() as u64).clamp(MIN_SPAN, MAX_SPAN)
}

/// The smallest of 1, 2, 3 and 5 times a power of ten that is at least `x`.
fn nice(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 3.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// The picture's size, in SVG units: the lanes' titles take [`HEADER`] at the top, time the
/// `height` below.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Canvas {
    pub width: f64,
    pub height: f64,
}

pub const HEADER: f64 = 30.0;
/// Room under the time axis, so that a mark at "now" is drawn whole.
pub const FOOTER: f64 = 10.0;
/// The least distance between two mark labels on one lane.
const LABEL_GAP: f64 = 12.0;
/// The width of an activation bar.
pub const BAR_W: f64 = 10.0;
const HEAD_LEN: f64 = 9.0;
const LABEL_AT: f64 = 0.3;
const HEAD_HALF: f64 = 4.5;

/// Everything drawn for one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawing {
    pub width: f64,
    pub height: f64,
    pub lanes: Vec<LaneView>,
    pub arrows: Vec<ArrowView>,
    pub bars: Vec<BarView>,
    pub marks: Vec<MarkView>,
    pub ticks: Vec<TickView>,
    /// Where "now" is, if it is in the window.
    pub now_y: Option<f64>,
    pub from: SimTime,
    pub to: SimTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LaneView {
    pub x: f64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrowView {
    pub id: u64,
    pub style: Style,
    /// The token's class: request, response, publish, confirm, deliver, ack.
    pub kind: &'static str,
    pub label: &'static str,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    /// The head's three points, tip first; `None` when the tip is out of the window or the
    /// message was lost (its end is a mark instead).
    pub head: Option<[(f64, f64); 3]>,
    /// on-wire, received, dropped, discarded.
    pub fate: &'static str,
    /// Where the label goes: a third of the way from the sender, a little above the line, so
    /// that a message and its answer, crossing the same gap, keep their labels apart.
    pub label_at: (f64, f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct BarView {
    pub x: f64,
    pub y1: f64,
    pub y2: f64,
    pub open: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MarkView {
    pub x: f64,
    pub y: f64,
    pub kind: MarkKind,
    /// The label goes to the left of the symbol on the rightmost lane, to the right elsewhere.
    pub label_left: bool,
    /// How far below the symbol the label's middle is: a label that would cover the one before
    /// it on the same lane moves down.
    pub label_dy: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TickView {
    pub y: f64,
    pub label: String,
}

/// Where a time and a lane are drawn, for one window in one picture.
struct Scale {
    from: SimTime,
    to: SimTime,
    now: SimTime,
    span_us: f64,
    height: f64,
    lanes: Vec<LaneView>,
}

impl Scale {
    fn y(&self, t: SimTime) -> f64 {
        HEADER + (t.as_micros() as f64 - self.from.as_micros() as f64) * self.height / self.span_us
    }

    fn x(&self, id: NodeId) -> f64 {
        self.lanes.get(id.0 as usize).map_or(0.0, |l| l.x)
    }

    fn bottom(&self) -> f64 {
        HEADER + self.height
    }
}

impl Sequence {
    /// The diagram of the window `viewport` shows at `now`, in a picture of size `canvas`.
    pub fn draw(
        &self,
        model: &Model,
        viewport: &Viewport,
        now: SimTime,
        canvas: Canvas,
    ) -> Drawing {
        let (from, to) = viewport.window(now);
        let scale = Scale {
            from,
            to,
            now,
            span_us: (to.as_micros() - from.as_micros()).max(1) as f64,
            height: canvas.height,
            lanes: lanes(model, canvas.width),
        };
        let arrows = self
            .messages
            .values()
            .filter(|m| m.sent <= to && m.arrives.min(now) >= from)
            .filter_map(|m| arrow(m, &scale))
            .collect();
        let bars = self
            .activations
            .iter()
            .filter(|a| a.since <= to && a.until.unwrap_or(now) >= from)
            .map(|a| BarView {
                x: scale.x(a.node),
                y1: scale.y(a.since).max(HEADER),
                y2: scale.y(a.until.unwrap_or(now)).min(scale.bottom()),
                open: a.until.is_none(),
            })
            .collect();
        let marks = self.mark_views(&scale);
        let ticks = ticks(&scale);
        Drawing {
            width: canvas.width,
            height: scale.bottom() + FOOTER,
            arrows,
            bars,
            marks,
            ticks,
            now_y: (now >= from && now <= to).then(|| scale.y(now)),
            from,
            to,
            lanes: scale.lanes,
        }
    }

    /// The marks in the window, in time order; a label that would cover the one before it on
    /// the same lane moves down.
    fn mark_views(&self, scale: &Scale) -> Vec<MarkView> {
        let last = scale.lanes.len().saturating_sub(1);
        let mut label_ends: Vec<f64> = vec![f64::NEG_INFINITY; scale.lanes.len()];
        self.marks
            .iter()
            .filter(|k| k.at >= scale.from && k.at <= scale.to)
            .map(|k| {
                let (lane, at) = (k.node.0 as usize, scale.y(k.at));
                let label_y = label_ends.get(lane).map_or(at, |end| at.max(end + LABEL_GAP));
                if let Some(end) = label_ends.get_mut(lane) {
                    *end = label_y;
                }
                MarkView {
                    x: scale.x(k.node),
                    y: at,
                    kind: k.kind,
                    label_left: last > 0 && lane == last,
                    label_dy: label_y - at,
                }
            })
            .collect()
    }
}

/// A message's arrow, as much of it as the window holds; `None` if none of it is.
fn arrow(m: &Message, scale: &Scale) -> Option<ArrowView> {
    // Ends at the edge of where a bar would be, so that a bar never hides a head.
    let (x1, x2) = (scale.x(m.from), scale.x(m.to));
    let inset = (x2 - x1).signum() * BAR_W / 2.0;
    let (x1, x2) = (x1 + inset, x2 - inset);
    let (y1, y2) = (scale.y(m.sent), scale.y(m.arrives));

    // A message on the wire is drawn as far as it has come.
    let reach = crate::geometry::progress(m.sent, m.arrives, scale.now);
    let on_wire = m.fate == Fate::OnWire && reach < 1.0;
    let tip = if on_wire { (x1 + (x2 - x1) * reach, y1 + (y2 - y1) * reach) } else { (x2, y2) };
    let ((x1, y1), (tx, ty)) = clip((x1, y1), tip, HEADER, scale.bottom())?;

    // A lost message ends in a mark, not a head.
    let lost = matches!(m.fate, Fate::Dropped(_));
    let head = ((tx, ty) == tip && !lost).then(|| head((x1, y1), tip)).flatten();
    let (kind, label) = token_kind(&m.payload);
    let fate = match m.fate {
        Fate::OnWire if on_wire => "on-wire",
        Fate::OnWire | Fate::Received => "received",
        Fate::Dropped(_) => "dropped",
        Fate::Discarded => "discarded",
    };
    Some(ArrowView {
        id: m.id.0,
        style: Style::of(&m.payload),
        kind,
        label,
        x1,
        y1,
        x2: tx,
        y2: ty,
        head,
        fate,
        label_at: (x1 + (tx - x1) * LABEL_AT, y1 + (ty - y1) * LABEL_AT - 4.0),
    })
}

/// Lines across the window at round times, about five of them.
fn ticks(scale: &Scale) -> Vec<TickView> {
    let step = nice(scale.span_us / 5.0).max(1.0) as u64;
    let first = scale.from.as_micros().div_ceil(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= scale.to.as_micros())
        .map(SimTime::from_micros)
        .map(|t| TickView { y: scale.y(t), label: at(t) })
        .collect()
}

/// A lane per node, spread evenly across `width` with a margin for the time labels.
fn lanes(model: &Model, width: f64) -> Vec<LaneView> {
    let n = model.nodes.len();
    let margin = (width * 0.12).max(56.0);
    let gap = if n > 1 { (width - 2.0 * margin) / (n - 1) as f64 } else { 0.0 };
    (0..n)
        .map(|i| LaneView {
            x: if n > 1 { margin + gap * i as f64 } else { width / 2.0 },
            name: lane_name(model, NodeId(i as u16)),
        })
        .collect()
}

/// The part of the segment from `a` to `b` between the heights `top` and `bottom`, if any.
fn clip(a: (f64, f64), b: (f64, f64), top: f64, bottom: f64) -> Option<((f64, f64), (f64, f64))> {
    let at = |y: f64| {
        if b.1 == a.1 {
            a
        } else {
            let t = ((y - a.1) / (b.1 - a.1)).clamp(0.0, 1.0);
            (a.0 + (b.0 - a.0) * t, y)
        }
    };
    let (lo, hi) = if a.1 <= b.1 { (a.1, b.1) } else { (b.1, a.1) };
    if hi < top || lo > bottom {
        return None;
    }
    let a2 = if a.1 < top {
        at(top)
    } else if a.1 > bottom {
        at(bottom)
    } else {
        a
    };
    let b2 = if b.1 < top {
        at(top)
    } else if b.1 > bottom {
        at(bottom)
    } else {
        b
    };
    Some((a2, b2))
}

/// An arrowhead at `tip`, pointing from `from`; none for an arrow too short to point anywhere.
fn head(from: (f64, f64), tip: (f64, f64)) -> Option<[(f64, f64); 3]> {
    let (dx, dy) = (tip.0 - from.0, tip.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-6 {
        return None;
    }
    let (ux, uy) = (dx / len, dy / len);
    let (bx, by) = (tip.0 - ux * HEAD_LEN, tip.1 - uy * HEAD_LEN);
    Some([
        tip,
        (bx - uy * HEAD_HALF, by + ux * HEAD_HALF),
        (bx + uy * HEAD_HALF, by - ux * HEAD_HALF),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use callflow_sim::scenario::{ClientSpec, Disruption, NodeSpec};
    use callflow_sim::{figures, LinkId, Sim};

    const WIDE: Canvas = Canvas { width: 640.0, height: 300.0 };

    fn fold(sim: &Sim, seq: &mut Sequence, seen: &mut u64) {
        for e in sim.trace().since(*seen) {
            seq.apply(e);
            *seen = e.seq + 1;
        }
    }

    fn run(scenario: callflow_sim::Scenario, triggers: usize) -> (Sim, Sequence) {
        let mut sim = Sim::new(&scenario).unwrap();
        let a = sim.model().node_named("a").unwrap();
        let (mut seq, mut seen) = (Sequence::new(), 0);
        for _ in 0..triggers {
            sim.trigger(a).unwrap();
        }
        while sim.step().is_some() {
            fold(&sim, &mut seq, &mut seen);
        }
        fold(&sim, &mut seq, &mut seen);
        (sim, seq)
    }

    #[test]
    fn a_call_is_two_sync_arrows_and_a_bar_as_long_as_the_wait() {
        let (sim, seq) = run(figures::request_response(), 1);
        let styles: Vec<Style> = seq.messages().map(|m| Style::of(&m.payload)).collect();
        assert_eq!(styles, [Style::Sync, Style::Sync]);
        let bars: Vec<&Activation> = seq.activations().collect();
        assert_eq!(bars.len(), 1);
        let returned = sim.trace().since(0).find_map(|e| match e.kind {
            EventKind::CallReturned { waited, .. } => Some(waited),
            _ => None,
        });
        assert_eq!(bars[0].until.map(|u| u - bars[0].since), returned);
        assert_eq!(bars[0].node, sim.model().node_named("a").unwrap());
    }

    #[test]
    fn the_broker_figure_draws_only_async_arrows_and_no_bar() {
        let (_, seq) = run(figures::broker(), 2);
        assert_eq!(seq.messages().count(), 8, "publish, confirm, deliver and ack, twice");
        assert!(seq.messages().all(|m| Style::of(&m.payload) == Style::Async));
        assert_eq!(seq.activations().count(), 0);
    }

    #[test]
    fn an_arrow_runs_from_its_send_time_to_its_arrival_between_the_right_lanes() {
        let (sim, seq) = run(figures::request_response(), 1);
        let vp = Viewport::new(SimDuration::from_millis(600));
        let d = seq.draw(sim.model(), &vp, sim.now(), WIDE);
        // Arrows end half a bar's width from the lanes.
        let (a, b) = (d.lanes[0].x + BAR_W / 2.0, d.lanes[1].x - BAR_W / 2.0);
        let req = d.arrows.iter().find(|r| r.kind == "request").unwrap();
        // 600 ms over 300 units: half a unit a millisecond; the request leaves at 0 and takes 60.
        assert_eq!((req.x1, req.y1, req.x2, req.y2), (a, HEADER, b, HEADER + 30.0));
        let res = d.arrows.iter().find(|r| r.kind == "response").unwrap();
        assert_eq!((res.x1, res.x2), (b, a));
        assert_eq!(res.y2, HEADER + 260.0, "the response arrives at 520 ms");
        assert_eq!(res.head.unwrap()[0], (a, HEADER + 260.0), "the tip touches A's bar");
        let bar = &d.bars[0];
        assert_eq!((bar.x, bar.y1, bar.y2), (d.lanes[0].x, HEADER, HEADER + 260.0));
    }

    #[test]
    fn a_message_in_flight_is_drawn_up_to_now() {
        let mut sim = Sim::new(&figures::request_response()).unwrap();
        sim.trigger(NodeId(0)).unwrap();
        sim.run_until(SimTime::from_micros(30_000));
        let (mut seq, mut seen) = (Sequence::new(), 0);
        fold(&sim, &mut seq, &mut seen);
        let vp = Viewport::new(SimDuration::from_millis(600));
        let d = seq.draw(sim.model(), &vp, sim.now(), WIDE);
        let req = &d.arrows[0];
        assert_eq!(req.fate, "on-wire");
        let half = (d.lanes[0].x + d.lanes[1].x) / 2.0;
        assert_eq!(req.label_at.1, HEADER + 0.3 * 15.0 - 4.0, "the label a third along, above");
        assert!((req.x2 - half).abs() < 1e-9, "half way at half its latency: {}", req.x2);
        assert_eq!(req.y2, HEADER + 15.0);
        assert_eq!(d.now_y, Some(HEADER + 15.0));
        assert!(d.bars[0].open);
    }

    #[test]
    fn the_window_follows_now_and_a_reader_can_scroll_back_and_return() {
        let span = SimDuration::from_millis(1_000);
        let vp = Viewport::new(span);
        let at = |ms: u64| SimTime::from_micros(ms * 1_000);
        assert_eq!(vp.window(at(300)), (at(0), at(1_000)), "the start stays at the top");
        assert_eq!(vp.window(at(5_000)), (at(4_000), at(5_000)));
        let back = vp.earlier(at(5_000), Some(at(0)));
        assert_eq!(back.window(at(9_000)), (at(3_500), at(4_500)), "held while the run goes on");
        let floor = back.earlier(at(5_000), Some(at(3_000)));
        assert_eq!(floor.window(at(5_000)).0, at(3_000), "no further back than the oldest kept");
        assert_eq!(back.later(at(4_800)).held, None, "reaching now, it follows again");
        assert_eq!(back.later(at(9_000)).window(at(9_000)), (at(4_000), at(5_000)));
        let wide = vp.zoom(2.0, at(5_000));
        assert_eq!(wide.window(at(5_000)), (at(3_000), at(5_000)));
        assert_eq!(vp.zoom(f64::NAN, at(0)), vp);
        assert_eq!(vp.zoom(1e30, at(0)).span, MAX_SPAN);
        assert_eq!(vp.zoom(0.0, at(0)), vp);
    }

    #[test]
    fn old_messages_are_forgotten_and_arrows_outside_the_window_are_not_drawn() {
        let (sim, seq) = run(figures::broker(), 150);
        assert_eq!(seq.messages().count(), KEEP);
        let vp = Viewport::new(SimDuration::from_millis(1_000));
        let d = seq.draw(sim.model(), &vp, sim.now(), WIDE);
        assert!(!d.arrows.is_empty());
        assert!(d.arrows.len() < 20, "{} arrows in one second", d.arrows.len());
        for r in &d.arrows {
            assert!(r.y1 >= HEADER && r.y2 <= HEADER + WIDE.height, "{r:?}");
        }
        let oldest = seq.oldest().unwrap();
        let back = (0..1_000).fold(vp, |v, _| v.earlier(sim.now(), Some(oldest)));
        assert_eq!(back.window(sim.now()).0, oldest);
    }

    #[test]
    fn drops_timeouts_and_crashes_leave_marks_and_end_the_bar() {
        let mut scenario = figures::request_response();
        if let NodeSpec::Service(a) = &mut scenario.nodes[0] {
            a.client = ClientSpec {
                timeout_ms: Some(100.0),
                retries: 1,
                backoff_ms: 10.0,
                ..ClientSpec::default()
            };
        }
        let mut sim = Sim::new(&scenario).unwrap();
        let (mut seq, mut seen) = (Sequence::new(), 0);
        sim.disrupt(Disruption::LinkLoss(LinkId(0), 1_000)).unwrap();
        sim.trigger(NodeId(0)).unwrap();
        sim.run_until_idle(1_000);
        sim.disrupt(Disruption::Crash(NodeId(1))).unwrap();
        fold(&sim, &mut seq, &mut seen);
        let kinds: Vec<MarkKind> = seq.marks().map(|m| m.kind).collect();
        let d =
            seq.draw(sim.model(), &Viewport::new(SimDuration::from_millis(500)), sim.now(), WIDE);
        // The timeout and the giving up share an instant on A's lane: their labels stack.
        let on_a: Vec<f64> =
            d.marks.iter().filter(|m| m.x == d.lanes[0].x).map(|m| m.y + m.label_dy).collect();
        assert!(on_a.windows(2).all(|w| w[1] - w[0] >= LABEL_GAP), "{on_a:?}");
        assert!(on_a.len() >= 3, "{on_a:?}");
        assert_eq!(
            kinds,
            [
                MarkKind::Dropped(DropReason::LinkLoss),
                MarkKind::TimedOut,
                MarkKind::Dropped(DropReason::LinkLoss),
                MarkKind::TimedOut,
                MarkKind::GaveUp,
                MarkKind::Crashed,
            ]
        );
        let bars: Vec<&Activation> = seq.activations().collect();
        assert_eq!(bars.len(), 1, "the retry is the same call");
        assert!(bars[0].until.is_some());
        let d =
            seq.draw(sim.model(), &Viewport::new(SimDuration::from_millis(500)), sim.now(), WIDE);
        assert!(d.arrows.iter().all(|r| r.fate == "dropped" && r.head.is_none()));
        let words = seq.recent(sim.model(), sim.now());
        assert_eq!(words.len(), 2);
        assert!(words[1].starts_with("A → B: HTTP request, attempt 2, sent at"), "{words:?}");
        assert!(words[1].ends_with("(the link lost it)."), "{words:?}");
    }

    #[test]
    fn the_default_window_holds_one_job_of_each_figure() {
        for (scenario, ms) in [
            (figures::request_response(), 1_000),
            (figures::broker(), 2_000),
            (figures::hybrid(), 3_000),
        ] {
            let model = scenario.validate().unwrap();
            assert_eq!(default_span(&model), SimDuration::from_millis(ms), "{}", model.name);
        }
    }
}
