//! Playback: the run behind one figure, and how the reader drives it. It turns wall-clock
//! frames into simulated time at the chosen speed, applies the reader's actions and settings,
//! folds new trace events into the [`Scene`], and says what the picture shows at this moment.
//! Pure logic, tested natively.

use std::collections::VecDeque;

use callflow_sim::engine::DEFAULT_TRACE_CAPACITY;
use callflow_sim::scenario::{Disruption, Role};
use callflow_sim::{LatencySpec, LinkId, Model, NodeId, Payload, Sim, SimDuration, SimTime};

use crate::catalog::FigureKind;
use crate::geometry::{self, Layout, Point};
use crate::metrics::Metrics;
use crate::narration::{narrate, short, Line};
use crate::presets::Preset;
use crate::scene::{Activity, OrderCheck, Scene};
use crate::sequence::Sequence;

/// The longest wall-clock gap one frame may account for. A tab that was hidden comes back to a
/// huge gap; it plays on from where it stopped rather than jumping ahead.
pub const MAX_FRAME_MS: f64 = 100.0;

/// At most this many simulator events per animation frame. Past it the run falls behind the
/// chosen speed, visibly, rather than freezing the page; it stays far below the trace's
/// capacity, so that the scene never misses an event.
pub const MAX_EVENTS_PER_FRAME: usize = 2_000;

/// At most this many sentences of narration at once.
const MAX_SENTENCES: usize = 3;

/// The speed range, as simulated time per wall-clock time.
pub const MIN_SPEED: f64 = 0.001;
pub const MAX_SPEED: f64 = 10.0;
pub const DEFAULT_SPEED: f64 = 0.25;

/// The range a reader may set a latency or processing time to, in milliseconds.
pub const MIN_SETTING_MS: f64 = 0.0;
pub const MAX_SETTING_MS: f64 = 60_000.0;

/// A setting the reader can change: a link's latency or a service's processing time.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub target: Target,
    pub label: String,
    pub ms: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Link(LinkId),
    Processing(NodeId),
}

/// A moment of a run: a simulated time and, where it matters, how many trace events had
/// happened by then. Several events can share one instant, and a reader who steps can act
/// between them; `seq` pins that down. Without it, the moment comes after every event due by
/// `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moment {
    pub at: SimTime,
    pub seq: Option<u64>,
}

/// Something the reader did to a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    /// The figure's action: service A starts a job.
    Act,
    /// A setting changed to this many milliseconds.
    Set(Target, f64),
    /// Something went wrong, or stopped going wrong: a crash, a recovery, a slow service, a
    /// lossy link.
    Disrupt(Disruption),
}

/// An input and the moment it happened: a run is its start model plus these, in order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timed {
    pub moment: Moment,
    pub input: Input,
}

/// Reaching a moment given in a link or a file runs at most this many events; past it the run
/// stops where it got to and says so.
pub const MAX_SEEK_EVENTS: usize = 200_000;

/// The run behind one figure.
#[derive(Clone, Debug)]
pub struct Playback {
    kind: FigureKind,
    sim: Sim,
    scene: Scene,
    /// The sequence diagram and the numbers, folded from the same events as the scene.
    sequence: Sequence,
    metrics: Metrics,
    seen: u64,
    speed: f64,
    playing: bool,
    /// The last frame hit [`MAX_EVENTS_PER_FRAME`] before reaching its target time.
    lagging: bool,
    narration: String,
    /// The model the run started from: its seed and its settings at time zero.
    start: Model,
    /// What the reader did since the start, in order: with `start`, the whole run.
    inputs: Vec<Timed>,
    /// Inputs still to replay, earliest first, each applied when the run reaches its moment.
    script: VecDeque<Timed>,
    /// A replay pauses here.
    stop_at: Option<SimTime>,
    /// Scripted inputs that could not happen at their moment (a hand-edited link whose event
    /// counts do not fit the run): they happened at the nearest moment the run allowed.
    misplaced: usize,
    /// The preset the start model came from, if any.
    preset: Option<Preset>,
}

impl Playback {
    pub fn new(kind: FigureKind) -> Playback {
        Playback::from_model(kind, kind.model())
    }

    /// A run of the figure from `model`: the figure's own, with another seed or other settings.
    pub fn from_model(kind: FigureKind, model: Model) -> Playback {
        let sim = Sim::from_model(model.clone(), DEFAULT_TRACE_CAPACITY);
        let scene = Scene::new(sim.model());
        let metrics = Metrics::new(sim.model());
        Playback {
            kind,
            sim,
            scene,
            sequence: Sequence::new(),
            metrics,
            seen: 0,
            speed: DEFAULT_SPEED,
            playing: false,
            lagging: false,
            narration: format!("Nothing has happened yet. Press “{}”.", kind.action()),
            start: model,
            inputs: Vec::new(),
            script: VecDeque::new(),
            stop_at: None,
            misplaced: 0,
            preset: None,
        }
    }

    /// The preset the run's start model came from, if any.
    pub fn preset(&self) -> Option<Preset> {
        self.preset
    }

    /// Says which preset the start model came from; the model itself comes with
    /// [`Playback::replay`].
    pub fn set_preset(&mut self, preset: Option<Preset>) {
        self.preset = preset;
    }

    /// The run has nothing left to do: nothing scheduled, nothing scripted, and something
    /// happened. A preset's answer speaks of a finished run.
    pub fn finished(&self) -> bool {
        self.idle() && !self.sim.trace().is_empty()
    }

    /// The model the run started from.
    pub fn start(&self) -> &Model {
        &self.start
    }

    /// What the reader did since the start.
    pub fn inputs(&self) -> &[Timed] {
        &self.inputs
    }

    /// The moment the run is at now.
    pub fn moment(&self) -> Moment {
        Moment { at: self.sim.now(), seq: Some(self.sim.trace().len()) }
    }

    /// Inputs not yet replayed, in order.
    pub fn pending(&self) -> impl Iterator<Item = &Timed> {
        self.script.iter()
    }

    /// Nothing is scheduled and nothing is scripted: until the reader acts, nothing happens.
    pub fn idle(&self) -> bool {
        self.sim.next_due().is_none() && self.script.is_empty()
    }

    /// How many scripted inputs happened at another moment than their own.
    pub fn misplaced(&self) -> usize {
        self.misplaced
    }

    pub fn kind(&self) -> FigureKind {
        self.kind
    }

    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    pub fn sequence(&self) -> &Sequence {
        &self.sequence
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn narration(&self) -> &str {
        &self.narration
    }

    pub fn set_playing(&mut self, playing: bool) {
        self.playing = playing;
    }

    /// Accounts for `wall_ms` of wall-clock time since the last frame: while playing, the run
    /// advances by that times the speed (the gap capped at [`MAX_FRAME_MS`]).
    /// With nothing scheduled the clock stands still: time with nothing in it teaches nothing.
    pub fn tick(&mut self, wall_ms: f64) {
        if !self.playing || !wall_ms.is_finite() || wall_ms <= 0.0 || self.idle() {
            return;
        }
        let sim_us = wall_ms.min(MAX_FRAME_MS) * self.speed * 1000.0;
        let mut target = self.sim.now() + SimDuration::from_micros(sim_us.round() as u64);
        if let Some(stop) = self.stop_at {
            target = target.min(stop);
        }
        self.lagging = !self.advance(Moment { at: target, seq: None }, MAX_EVENTS_PER_FRAME);
        self.absorb();
        if self.stop_at.is_some_and(|stop| self.sim.now() >= stop) {
            self.stop_at = None;
            self.playing = false;
            self.narration = format!("{} That is where the imported run ended.", self.narration);
        }
    }

    /// Runs exactly one event, if one is due, and the clock jumps to its time; or applies the
    /// next scripted input, if it comes first.
    pub fn step(&mut self) -> bool {
        let next_input = self.script.front().map(|t| t.moment);
        let input_first = next_input.is_some_and(|m| {
            self.sim.next_due().is_none_or(|due| {
                m.at < due || (m.at == due && m.seq.is_some_and(|s| s <= self.sim.trace().len()))
            })
        });
        let ran = if input_first {
            let to = next_input.expect("checked above");
            self.advance(to, MAX_EVENTS_PER_FRAME)
        } else {
            self.sim.step().is_some()
        };
        if ran {
            self.absorb();
        } else {
            self.narration =
                format!("Nothing is scheduled. Press “{}” to start something.", self.kind.action());
        }
        ran
    }

    /// Runs to `to`, applying each scripted input on the way at its moment. Runs at most
    /// `budget` events; `false` if that stopped it short.
    fn advance(&mut self, to: Moment, budget: usize) -> bool {
        let first = self.sim.trace().len();
        loop {
            let left = budget.saturating_sub((self.sim.trace().len() - first) as usize);
            let due = self.script.front().filter(|t| t.moment.at <= to.at).copied();
            let Some(next) = due else {
                return self.reach(to, left);
            };
            if !self.reach(next.moment, left) {
                return false;
            }
            let seq = self.sim.trace().len();
            if self.sim.now() != next.moment.at || next.moment.seq.is_some_and(|s| s != seq) {
                self.misplaced += 1;
            }
            self.script.pop_front();
            // A scripted input was valid when it was recorded or parsed; a refusal here would
            // leave the run as it was, and the narration says why.
            if let Err(e) = self.apply(next.input) {
                self.narration = e;
            }
        }
    }

    /// Runs the events before `m`, then sets the clock to its time. `false` if `budget` ran out.
    fn reach(&mut self, m: Moment, budget: usize) -> bool {
        let Some(seq) = m.seq else {
            return self.sim.run_until_bounded(m.at, budget);
        };
        let mut n = 0;
        while self.sim.trace().len() < seq && self.sim.next_due().is_some_and(|due| due <= m.at) {
            if n == budget {
                return false;
            }
            self.sim.step();
            n += 1;
        }
        // Agenda entries that say nothing when they come (a timeout whose call was answered
        // in time) may lie between here and `m`: the recorded run passed them, so this one
        // does too. They change nothing; an entry that speaks comes after `m`.
        while self.sim.now() < m.at && self.sim.next_due().is_some_and(|due| due <= m.at) {
            let mut trial = self.sim.clone();
            trial.step();
            if trial.trace().len() != self.sim.trace().len() {
                break;
            }
            self.sim = trial;
        }
        // With events still due at `m.at` the clock is already there: they come after `m`.
        self.sim.run_until_bounded(m.at, 0);
        true
    }

    /// Runs to `m`, as a shared link or a file asks, folding the events in as it goes. Gives
    /// up after [`MAX_SEEK_EVENTS`] and says where it stopped.
    pub fn seek(&mut self, m: Moment) -> Result<(), String> {
        self.seek_within(m, MAX_SEEK_EVENTS)
    }

    pub(crate) fn seek_within(&mut self, m: Moment, budget: usize) -> Result<(), String> {
        let mut ran = 0;
        loop {
            let before = self.sim.trace().len();
            let done = self.advance(m, MAX_EVENTS_PER_FRAME);
            self.absorb();
            ran += (self.sim.trace().len() - before) as usize;
            if done {
                return Ok(());
            }
            if ran >= budget {
                return Err(format!(
                    "Stopped at {} after {ran} events, short of {}: that is as far as a link \
                     or a file may run at once. Press Play to go on.",
                    self.sim.now(),
                    m.at
                ));
            }
        }
    }

    /// Applies an input now and records it.
    fn apply(&mut self, input: Input) -> Result<String, String> {
        match input {
            Input::Act => {
                self.act();
                Ok(String::new())
            }
            Input::Set(target, ms) => self.change(target, ms),
            Input::Disrupt(d) => self.disrupt(d).map(|()| String::new()),
        }
    }

    /// Applies a fault, or its end, now and records it; the error is a sentence, and nothing
    /// changed.
    pub fn disrupt(&mut self, d: Disruption) -> Result<(), String> {
        let moment = self.moment();
        self.sim.disrupt(d).map_err(|e| format!("That fault cannot be applied: {e}."))?;
        self.inputs.push(Timed { moment, input: Input::Disrupt(d) });
        self.absorb();
        Ok(())
    }

    /// Starts the run again from `start`, the inputs to be replayed at their moments, pausing
    /// at `stop_at` if given.
    pub fn replay(&mut self, start: Model, inputs: Vec<Timed>, stop_at: Option<SimTime>) {
        self.start = start;
        self.restart();
        self.script = inputs.into();
        self.stop_at = stop_at;
    }

    /// The reader's action: service A starts a job now.
    pub fn act(&mut self) {
        self.inputs.push(Timed { moment: self.moment(), input: Input::Act });
        let a = self.sim.model().node_named("a").expect("every figure has a service a");
        // A service that exists cannot refuse a trigger; were it to, the page would say so.
        if let Err(e) = self.sim.trigger(a) {
            self.narration = format!("Could not start: {e}");
        }
        self.absorb();
    }

    /// Starts the run again from time zero, keeping the reader's settings: the model the run
    /// has now carries them.
    pub fn reset(&mut self) {
        self.start = self.sim.model().clone();
        self.restart();
        self.narration =
            format!("Reset to 0 ms with your settings. Press “{}”.", self.kind.action());
    }

    /// A new run from `start`, nothing done yet.
    fn restart(&mut self) {
        self.sim = Sim::from_model(self.start.clone(), DEFAULT_TRACE_CAPACITY);
        self.scene = Scene::new(self.sim.model());
        self.sequence = Sequence::new();
        self.metrics = Metrics::new(self.sim.model());
        self.seen = 0;
        self.lagging = false;
        self.inputs.clear();
        self.script.clear();
        self.stop_at = None;
        self.misplaced = 0;
        self.narration = format!("Nothing has happened yet. Press “{}”.", self.kind.action());
    }

    /// Sets the speed; the error is a sentence for the page, and the speed stays as it was.
    pub fn set_speed(&mut self, speed: f64) -> Result<(), String> {
        if !speed.is_finite() || !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
            return Err(format!("The speed must be between ×{MIN_SPEED} and ×{MAX_SPEED}."));
        }
        self.speed = speed;
        Ok(())
    }

    /// The settings the reader can change, with their current values.
    pub fn settings(&self) -> Vec<Setting> {
        let model = self.sim.model();
        let name = |id: NodeId| match model.node(id).role {
            Role::Broker(_) => "Broker".to_string(),
            Role::Log(_) => "Log".to_string(),
            Role::Service(_) => short(model, id),
        };
        let links = model.links.iter().enumerate().map(|(i, l)| Setting {
            target: Target::Link(LinkId(i as u16)),
            label: format!("{} ↔ {} latency ({})", name(l.a), name(l.b), l.protocol.name()),
            ms: l.latency.mean().as_millis_f64(),
        });
        let work = model.nodes.iter().enumerate().filter_map(|(i, n)| match &n.role {
            Role::Service(s) => Some(Setting {
                target: Target::Processing(NodeId(i as u16)),
                label: format!("{} processing time", short(model, NodeId(i as u16))),
                ms: s.processing.mean().as_millis_f64(),
            }),
            Role::Broker(_) | Role::Log(_) => None,
        });
        links.chain(work).collect()
    }

    /// Changes a setting from now on. `Ok` says what happens to what is already under way;
    /// `Err` says what was wrong, and nothing changed.
    pub fn change(&mut self, target: Target, ms: f64) -> Result<String, String> {
        let spec = setting_spec(ms)?;
        let moment = self.moment();
        let shown =
            SimDuration::from_millis_f64(ms).map_or_else(|| format!("{ms} ms"), |d| d.to_string());
        let said = match target {
            Target::Link(link) => {
                self.sim.set_link_latency(link, spec).map_err(|e| e.to_string())?;
                self.inputs.push(Timed { moment, input: Input::Set(target, ms) });
                let on_wire = self.sim.in_flight().filter(|e| e.link == link).count();
                match on_wire {
                    0 => format!("Latency now {shown}: applies to messages sent from now on."),
                    1 => format!("Latency now {shown} for messages sent from now on; the one already on this link keeps its timing."),
                    n => format!("Latency now {shown} for messages sent from now on; the {n} already on this link keep their timing."),
                }
            }
            Target::Processing(node) => {
                self.sim.set_processing(node, spec).map_err(|e| e.to_string())?;
                self.inputs.push(Timed { moment, input: Input::Set(target, ms) });
                let busy = self.scene.nodes.get(node.0 as usize).is_some_and(|n| {
                    n.workers.values().any(|a| matches!(a, Activity::Working { .. }))
                });
                if busy {
                    format!("Processing now {shown} for work started from now on; the work under way finishes on its old schedule.")
                } else {
                    format!("Processing now {shown}: applies to work started from now on.")
                }
            }
        };
        Ok(said)
    }

    /// Folds the events the run produced since the last look into the scene and the narration.
    /// The narration keeps the sentences of the latest instant that had something to say.
    fn absorb(&mut self) {
        let model = self.sim.model();
        // Keep the event before the first new one, for sentences that look back.
        let mut prev = self
            .sim
            .trace()
            .since(self.seen.saturating_sub(1))
            .next()
            .filter(|e| e.seq < self.seen)
            .cloned();
        if self.seen < self.sim.trace().first_kept() {
            // FIXME: the scene has missed events and may now be wrong. The per-frame budget
            // keeps this from happening; were it to, the console says so.
            log::warn!(
                "the scene missed {} trace events",
                self.sim.trace().first_kept() - self.seen
            );
        }
        // Sentences of the latest instant, in the order they were first said, with how often.
        let mut said: Vec<(String, usize)> = Vec::new();
        let mut said_at = None;
        // The entry the latest sentence went to, which an amending sentence replaces.
        let mut last: Option<usize> = None;
        let mut aside = None;
        // A service whose job ended after the last sentence: the narration says if it is free.
        let mut freed = None;
        for e in self.sim.trace().since(self.seen) {
            let line = narrate(model, prev.as_ref(), e, &self.scene);
            self.scene.apply(e);
            self.sequence.apply(e);
            self.metrics.apply(e);
            if let Some(text) = crate::narration::aside(model, e) {
                aside = Some(text);
            }
            if let Some(line) = line {
                if said_at != Some(e.at) {
                    said.clear();
                    last = None;
                    said_at = Some(e.at);
                }
                let text = match line {
                    Line::New(text) => text,
                    Line::Amend(text) => {
                        if let Some(i) = last {
                            if said[i].1 > 1 {
                                said[i].1 -= 1;
                            } else {
                                said.remove(i);
                            }
                        }
                        text
                    }
                };
                // The same thing many times over is said once, with a count.
                last = Some(match said.iter().position(|(t, _)| *t == text) {
                    Some(i) => {
                        said[i].1 += 1;
                        i
                    }
                    None => {
                        said.push((text, 1));
                        said.len() - 1
                    }
                });
                freed = None;
            }
            if let callflow_sim::EventKind::JobDone { node, .. } = e.kind {
                freed = Some(node);
            }
            prev = Some(e.clone());
        }
        self.seen = self.sim.trace().len();

        if said.is_empty() {
            if let Some(text) = aside {
                self.narration = text;
            }
            return;
        }
        let keep = said.len().saturating_sub(MAX_SENTENCES);
        let mut lines: Vec<String> = said[keep..]
            .iter()
            .map(|(text, n)| if *n > 1 { format!("{text} (×{n})") } else { text.clone() })
            .collect();
        let free = |n: NodeId| {
            self.scene
                .nodes
                .get(n.0 as usize)
                .is_some_and(|s| s.workers.is_empty() && s.inbox.is_empty())
        };
        if let Some(node) = freed.filter(|&n| free(n)) {
            lines.push(format!("{} is free.", short(model, node)));
        }
        self.narration = lines.join(" ");
    }

    /// What the picture shows now, laid out for `layout`.
    pub fn frame(&self, layout: &Layout) -> Frame {
        let model = self.sim.model();
        let now = self.sim.now();
        let centre =
            |id: NodeId| layout.centre(&model.node(id).id).unwrap_or(Point { x: 0.0, y: 0.0 });

        let tokens = self
            .scene
            .wire
            .values()
            .map(|t| {
                let (from, to) = layout.link_ends(model, t.from, t.to);
                let (start, end) = geometry::inset(from, to, geometry::TOKEN_HALF_W);
                let at = geometry::along(start, end, geometry::progress(t.sent, t.arrives, now));
                let (kind, label) = token_kind(&t.payload);
                TokenView { id: t.id.0, kind, label, x: at.x, y: at.y }
            })
            .collect();

        let nodes = model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let id = NodeId(i as u16);
                let c = centre(id);
                let scene = self.scene.nodes.get(i);
                let state = match (&n.role, self.scene.blocked(id)) {
                    (Role::Broker(_) | Role::Log(_), _) => NodeState::Broker,
                    (_, Some((since, callee))) => {
                        NodeState::Waiting { on: short(model, callee), for_: now - since }
                    }
                    _ => match scene.and_then(|s| s.workers.values().next()) {
                        Some(Activity::Working { until, .. }) => {
                            NodeState::Working { left: *until - now }
                        }
                        _ => NodeState::Idle,
                    },
                };
                NodeView {
                    id: n.id.clone(),
                    label: n.label.clone(),
                    x: c.x,
                    y: c.y,
                    state,
                    inbox: scene.map_or(0, |s| s.inbox.len()),
                    last_wait: scene.and_then(|s| s.last_wait),
                    down: scene.is_some_and(|s| s.down),
                    slow_percent: scene.and_then(|s| s.slow_percent).unwrap_or(100),
                }
            })
            .collect();

        // The figures have at most one queue.
        let queue = self.scene.queues.iter().next().map(|(q, s)| QueueView {
            name: model.queue(*q).map_or_else(String::new, |d| d.name.clone()),
            ready: s.ready.len(),
            unacked: s.unacked.len(),
        });

        let partitions = self
            .scene
            .partitions
            .iter()
            .map(|(&(_, index), p)| {
                // The last two committed records, then what waits, up to the cells drawn.
                let first = p.committed.saturating_sub(2);
                let cells = (first..p.keys.len() as u64)
                    .take(PARTITION_CELLS)
                    .map(|offset| (offset, p.keys[offset as usize], offset < p.committed))
                    .collect();
                PartitionView {
                    index,
                    cells,
                    records: p.keys.len() as u64,
                    committed: p.committed,
                    owner: p.owner.map(|o| short(model, o)),
                }
            })
            .collect();
        let order = (!self.scene.partitions.is_empty()).then(|| self.scene.order.clone());

        let mut link_loss = vec![0; model.links.len()];
        let mut lossy = Vec::new();
        for (link, per_mille) in &self.scene.link_loss {
            if let Some(l) = link_loss.get_mut(link.0 as usize) {
                *l = *per_mille;
                let ends = model.link(*link);
                let name = |n| crate::narration::plain_name(model, n);
                lossy.push((format!("{} ↔ {}", name(ends.a), name(ends.b)), *per_mille));
            }
        }
        let mut on_links = vec![0; model.links.len()];
        for t in self.scene.wire.values() {
            if let Some(n) = on_links.get_mut(t.link.0 as usize) {
                *n += 1;
            }
        }

        Frame {
            now,
            playing: self.playing,
            lagging: self.lagging,
            tokens,
            nodes,
            queue,
            partitions,
            order,
            on_links,
            idle: self.sim.next_due().is_none(),
            link_loss,
            lossy,
        }
    }
}

/// A slowdown as a factor: ×10 for 1000 percent, ×1.5 for 150, ×0.01 for 1.
pub fn slowness(percent: u32) -> String {
    format!("×{}", f64::from(percent) / 100.0)
}

/// A loss per thousand as a percentage: 50 % for 500, 0.5 % for 5.
pub fn loss_text(per_mille: u16) -> String {
    match per_mille % 10 {
        0 => format!("{} %", per_mille / 10),
        d => format!("{}.{d} %", per_mille / 10),
    }
}

/// A setting's value as the simulator takes it, if it is in range; the error is a sentence.
fn setting_spec(ms: f64) -> Result<LatencySpec, String> {
    if !ms.is_finite() || !(MIN_SETTING_MS..=MAX_SETTING_MS).contains(&ms) {
        return Err(format!(
            "Enter a time from {MIN_SETTING_MS} to {MAX_SETTING_MS} milliseconds; the setting is unchanged."
        ));
    }
    Ok(LatencySpec::Constant { ms })
}

/// Sets a setting in a model before a run starts from it.
pub fn configure(model: &mut Model, target: Target, ms: f64) -> Result<(), String> {
    let checked = setting_spec(ms)?.check("setting").map_err(|e| e.to_string())?;
    match target {
        Target::Link(link) => match model.links.get_mut(link.0 as usize) {
            Some(l) => l.latency = checked,
            None => return Err("no such link".into()),
        },
        Target::Processing(node) => match model.nodes.get_mut(node.0 as usize).map(|n| &mut n.role)
        {
            Some(Role::Service(s)) => s.processing = checked,
            _ => return Err("no such service".into()),
        },
    }
    Ok(())
}

/// A message's token: its CSS class and its label.
pub(crate) fn token_kind(p: &Payload) -> (&'static str, &'static str) {
    match p {
        Payload::HttpRequest { .. } => ("request", "req"),
        Payload::HttpResponse { ok: true, .. } => ("response", "res"),
        Payload::HttpResponse { ok: false, .. } => ("response", "err"),
        Payload::Publish { .. } | Payload::PublishTo { .. } => ("publish", "msg"),
        Payload::Confirm { .. } => ("confirm", "ok"),
        Payload::Deliver { .. } => ("deliver", "msg"),
        Payload::Ack { .. } => ("ack", "ack"),
        Payload::Produce { .. } => ("publish", "rec"),
        Payload::Produced { .. } => ("confirm", "ok"),
        Payload::Record { .. } => ("deliver", "rec"),
        Payload::Commit { .. } => ("ack", "cmt"),
        Payload::Subscribe { .. } => ("request", "sub"),
        Payload::Push { .. } => ("deliver", "evt"),
        Payload::Nack { .. } => ("ack", "nack"),
    }
}

/// Everything the diagram draws at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub now: SimTime,
    pub playing: bool,
    pub tokens: Vec<TokenView>,
    pub nodes: Vec<NodeView>,
    pub queue: Option<QueueView>,
    /// A log's partitions, in order.
    pub partitions: Vec<PartitionView>,
    /// For a figure with a log: whether each key's records were finished in order.
    pub order: Option<OrderCheck>,
    /// Envelopes on the wire, per link index.
    pub on_links: Vec<usize>,
    /// Nothing is scheduled: the run waits for the reader.
    pub idle: bool,
    /// Per link index: how many of every thousand envelopes it loses (0: none).
    pub link_loss: Vec<u16>,
    /// The lossy links by their ends ("A ↔ B"), with their loss per thousand.
    pub lossy: Vec<(String, u16)>,
    /// The run could not keep up with the chosen speed in the last frame.
    pub lagging: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TokenView {
    pub id: u64,
    /// The CSS class: request, response, publish, confirm, deliver, ack.
    pub kind: &'static str,
    pub label: &'static str,
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeState {
    Idle,
    Working {
        left: SimDuration,
    },
    /// Blocked on a call to `on` for `for_` so far.
    Waiting {
        on: String,
        for_: SimDuration,
    },
    Broker,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    pub id: String,
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub state: NodeState,
    pub inbox: usize,
    pub last_wait: Option<SimDuration>,
    /// Crashed and not yet recovered.
    pub down: bool,
    /// Work takes this many percent of its processing time (100: as set).
    pub slow_percent: u32,
}

/// How many records a partition's row shows.
pub const PARTITION_CELLS: usize = 5;

/// One partition of a log as drawn: a window of its records, from the last committed ones.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionView {
    pub index: u32,
    /// (offset, key, committed) for each record shown.
    pub cells: Vec<(u64, u32, bool)>,
    pub records: u64,
    pub committed: u64,
    /// The short name of the member that reads it.
    pub owner: Option<String>,
}

/// The order check in a few words, for the diagram.
pub fn order_short(o: &OrderCheck) -> String {
    match o.broken {
        None => format!("per-key order kept ({} done)", o.finished),
        Some((key, ..)) => format!("per-key order broken: k{key}"),
    }
}

/// The order check in words.
pub fn order_text(o: &OrderCheck) -> String {
    match o.broken {
        None if o.finished == 0 => "order per key: nothing finished yet".into(),
        None => format!("order per key: kept so far ({} finished)", o.finished),
        Some((key, late, early)) => format!(
            "order per key: broken for k{key}: the log's record number {late} (in the order it \
             got them) finished after its number {early}"
        ),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueView {
    pub name: String,
    pub ready: usize,
    pub unacked: usize,
}

impl Frame {
    /// The picture in words: the text version of the diagram, for every reader.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("Simulated time {}", self.now)];
        for n in &self.nodes {
            let who = crate::narration::short_label(&n.label);
            if n.down {
                parts.push(format!("{who} down"));
                continue;
            }
            let mut part = match &n.state {
                NodeState::Waiting { on, for_ } => format!("{who} waiting for {on}: {for_}"),
                NodeState::Working { .. } => format!("{who} working"),
                NodeState::Idle => match n.last_wait {
                    Some(w) => format!("{who} idle (last wait {w})"),
                    None => format!("{who} idle"),
                },
                NodeState::Broker => continue,
            };
            if n.slow_percent != 100 {
                part.push_str(&format!(", slow ({})", slowness(n.slow_percent)));
            }
            if n.inbox > 0 {
                part.push_str(&format!(", {} in inbox", n.inbox));
            }
            parts.push(part);
        }
        for (ends, per_mille) in &self.lossy {
            parts.push(format!("the {ends} link loses {}", loss_text(*per_mille)));
        }
        if let Some(q) = &self.queue {
            parts.push(format!(
                "queue “{}”: {} waiting, {} delivered and not yet acked",
                q.name, q.ready, q.unacked
            ));
        }
        for p in &self.partitions {
            let owner = p.owner.as_deref().unwrap_or("no consumer");
            parts.push(format!(
                "partition {} ({owner}): {} records, {} committed",
                p.index, p.records, p.committed
            ));
        }
        if let Some(o) = &self.order {
            parts.push(order_text(o));
        }
        parts.push(match self.tokens.len() {
            0 => "nothing on the wire".into(),
            _ => {
                // Named as the legend names them: a publish and a delivery are both messages.
                let mut kinds: Vec<(&str, usize)> = Vec::new();
                for t in &self.tokens {
                    let name = match t.kind {
                        "publish" | "deliver" => "message",
                        k => k,
                    };
                    match kinds.iter_mut().find(|(k, _)| *k == name) {
                        Some((_, n)) => *n += 1,
                        None => kinds.push((name, 1)),
                    }
                }
                let list: Vec<String> = kinds
                    .iter()
                    .map(|(k, n)| if *n == 1 { format!("1 {k}") } else { format!("{n} {k}s") })
                    .collect();
                format!("on the wire: {}", list.join(", "))
            }
        });
        if self.lagging {
            parts.push("running behind the chosen speed: too many events per frame".into());
        }
        parts.join(" · ")
    }

    pub fn node(&self, id: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn token(&self, id: u64) -> Option<&TokenView> {
        self.tokens.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(kind: FigureKind) -> Layout {
        Layout::of(kind, false)
    }

    fn waiting(p: &Playback) -> Option<SimDuration> {
        match p.frame(&wide(p.kind())).node("a").unwrap().state {
            NodeState::Waiting { for_, .. } => Some(for_),
            _ => None,
        }
    }

    #[test]
    fn a_is_marked_waiting_from_send_until_the_response_arrives() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        p.act();
        assert_eq!(waiting(&p), Some(SimDuration::ZERO), "waiting from the moment it sends");
        p.set_playing(true);
        // 100 ms frames at ×1: the exchange takes 60 + 400 + 60 ms.
        p.set_speed(1.0).unwrap();
        for _ in 0..5 {
            p.tick(100.0);
        }
        assert_eq!(waiting(&p), Some(SimDuration::from_millis(500)));
        p.tick(100.0);
        assert_eq!(waiting(&p), None, "no longer waiting once the response is in");
        assert_eq!(
            p.frame(&wide(p.kind())).node("a").unwrap().last_wait,
            Some(SimDuration::from_millis(520))
        );
    }

    #[test]
    fn the_publisher_is_never_marked_waiting() {
        let mut p = Playback::new(FigureKind::Broker);
        p.set_playing(true);
        for _ in 0..3 {
            p.act();
        }
        while p.step() {
            assert_eq!(waiting(&p), None);
        }
    }

    #[test]
    fn pause_stops_at_once_and_a_long_gap_is_capped() {
        let mut p = Playback::new(FigureKind::Hybrid);
        p.act();
        p.set_speed(1.0).unwrap();
        p.tick(50.0);
        assert_eq!(p.now(), SimTime::ZERO, "a paused run does not move");
        p.set_playing(true);
        p.tick(60_000.0);
        assert_eq!(
            p.now(),
            SimTime::from_micros(100_000),
            "a minute in a hidden tab counts as one frame"
        );
        p.tick(f64::NAN);
        p.tick(-5.0);
        assert_eq!(p.now(), SimTime::from_micros(100_000));
    }

    #[test]
    fn the_clock_stands_still_when_nothing_is_scheduled() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        p.set_playing(true);
        p.tick(100.0);
        assert_eq!(p.now(), SimTime::ZERO);
        p.act();
        p.set_speed(10.0).unwrap();
        for _ in 0..10 {
            p.tick(100.0);
        }
        // The exchange and A's own work end at 540 ms; the clock may pass that within the
        // frame that ran the last event, and stops there.
        let end = p.now();
        assert!(end >= SimTime::from_micros(540_000) && end <= SimTime::from_micros(1_540_000));
        p.tick(100.0);
        assert_eq!(p.now(), end);
    }

    #[test]
    fn the_summary_reads_as_words() {
        let mut p = Playback::new(FigureKind::Broker);
        p.act();
        p.act();
        let s = p.frame(&wide(p.kind())).summary();
        assert_eq!(
            s,
            "Simulated time 0 ms · A working, 1 in inbox · B idle · queue “orders”: 0 waiting, \
             0 delivered and not yet acked · on the wire: 1 message"
        );
    }

    #[test]
    fn step_runs_exactly_one_event() {
        let mut p = Playback::new(FigureKind::Hybrid);
        p.act();
        let before = p.sim().trace().len();
        let due = p.sim().next_due();
        assert!(p.step());
        assert_eq!(Some(p.now()), due);
        assert!(p.sim().trace().len() > before);
        // The request arrived at B: it is off the wire.
        assert!(p.frame(&wide(p.kind())).tokens.is_empty());
    }

    #[test]
    fn tokens_move_along_their_link() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        p.act();
        p.set_playing(true);
        p.set_speed(0.3).unwrap();
        let x0 = p.frame(&wide(p.kind())).tokens[0].x;
        p.tick(100.0); // 30 of the link's 60 ms
        let f = p.frame(&wide(p.kind()));
        let (a, b) = (f.node("a").unwrap().x, f.node("b").unwrap().x);
        let half = (a + b) / 2.0;
        assert!(f.tokens[0].x > x0);
        assert!((f.tokens[0].x - half).abs() < 1e-6, "{} vs {half}", f.tokens[0].x);
    }

    #[test]
    fn hybrid_narration_says_b_did_not_wait_for_c() {
        let mut p = Playback::new(FigureKind::Hybrid);
        p.act();
        let mut said = Vec::new();
        while p.step() {
            said.push(p.narration().to_string());
        }
        assert!(
            said.iter().any(|s| s.starts_with(
                "B published the message for C to the broker and answered A without waiting for C."
            )),
            "{said:#?}"
        );
    }

    #[test]
    fn everything_the_broker_does_at_one_instant_is_said() {
        let mut p = Playback::new(FigureKind::Broker);
        p.act();
        assert!(
            p.narration()
                .starts_with("A published a message for B to the broker and, without waiting,"),
            "{}",
            p.narration()
        );
        // A finishes its own work, then the publish reaches the broker, which stores, confirms
        // and delivers at once.
        p.step();
        assert_eq!(p.narration(), "A finished its job and is free.");
        p.step();
        let said = p.narration();
        assert!(said.contains("stored the message in “orders”."), "{said}");
        assert!(said.contains("confirmed to A"), "{said}");
        assert!(said.contains("delivered the oldest waiting message to B"), "{said}");
    }

    #[test]
    fn a_burst_bigger_than_the_trace_is_never_half_seen() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        for t in p.settings().into_iter().map(|s| s.target) {
            p.change(t, 0.0).unwrap();
        }
        p.reset();
        for _ in 0..3_000 {
            p.act();
        }
        p.set_playing(true);
        let mut frames = 0;
        loop {
            p.tick(16.0);
            frames += 1;
            if !p.frame(&wide(p.kind())).lagging {
                break;
            }
            assert!(frames < 100, "the run catches up");
        }
        assert!(frames > 1, "3000 calls took more than one frame's budget");
        let f = p.frame(&wide(p.kind()));
        assert!(f.tokens.is_empty());
        assert_eq!(f.node("a").unwrap().inbox, 0);
        assert_eq!(f.node("a").unwrap().state, NodeState::Idle);
        assert_eq!(p.scene().nodes[0].jobs_done, 3_000);
    }

    #[test]
    fn the_same_sentence_many_times_is_said_once_with_a_count() {
        let mut p = Playback::new(FigureKind::Broker);
        p.change(Target::Link(LinkId(0)), 60_000.0).unwrap();
        p.change(Target::Processing(NodeId(0)), 0.0).unwrap();
        p.reset();
        for _ in 0..5 {
            p.act();
        }
        p.set_playing(true);
        p.tick(1.0);
        assert_eq!(
            p.narration(),
            "A published a message for B to the broker and, without waiting, goes on with its own work (0 ms). (×4) A is free."
        );
    }

    #[test]
    fn counted_sentences_keep_the_order_things_happened_in() {
        let mut p = Playback::new(FigureKind::Broker);
        p.change(Target::Processing(NodeId(0)), 0.0).unwrap();
        p.reset();
        for _ in 0..5 {
            p.act();
        }
        p.set_playing(true);
        p.set_speed(1.0).unwrap();
        p.tick(40.0); // every publish reaches the broker at 40 ms
        let said = p.narration();
        let stored = said.find("stored the message in “orders”. (×5)").expect(said);
        let confirmed = said.find("any consumer. (×5)").expect(said);
        let delivered = said.find("delivered the oldest waiting message").expect(said);
        assert!(stored < confirmed && confirmed < delivered, "{said}");
    }

    #[test]
    fn a_queued_job_says_whether_its_service_is_blocked_or_busy() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        p.act();
        p.act();
        assert_eq!(
            p.narration(),
            "A is blocked waiting for B, so the new job waits in its inbox (1 waiting)."
        );
        let mut p = Playback::new(FigureKind::Broker);
        p.act();
        p.act();
        assert_eq!(
            p.narration(),
            "A is busy with its own work, so the new job waits in its inbox (1 waiting)."
        );
    }

    #[test]
    fn every_step_says_something() {
        for kind in FigureKind::ALL {
            let mut p = Playback::new(kind);
            p.act();
            let mut last = p.narration().to_string();
            while p.step() {
                assert_ne!(p.narration(), last, "{kind:?}: a step at {} said nothing new", p.now());
                last = p.narration().to_string();
            }
        }
        let mut p = Playback::new(FigureKind::RequestResponse);
        p.act();
        while p.sim().next_due().is_some() {
            p.step();
        }
        assert_eq!(p.narration(), "A finished its job and is free.");
    }

    #[test]
    fn bad_settings_say_why_and_change_nothing() {
        let mut p = Playback::new(FigureKind::Hybrid);
        let before = p.settings();
        for bad in [f64::NAN, -1.0, 1e9, f64::INFINITY] {
            assert!(p.change(Target::Link(LinkId(0)), bad).is_err());
            assert!(p.change(Target::Processing(NodeId(1)), bad).is_err());
        }
        assert!(p.change(Target::Link(LinkId(42)), 5.0).is_err());
        assert!(
            p.change(Target::Processing(NodeId(2)), 5.0).is_err(),
            "the broker has no processing time"
        );
        assert_eq!(p.settings(), before);
        assert!(p.set_speed(0.0).is_err());
        assert!(p.set_speed(f64::NAN).is_err());
        assert_eq!(p.speed(), DEFAULT_SPEED);
    }

    #[test]
    fn a_setting_says_what_happens_to_messages_under_way_and_survives_reset() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        p.act();
        let said = p.change(Target::Link(LinkId(0)), 250.0).unwrap();
        assert!(said.contains("the one already on this link keeps its timing"), "{said}");
        p.reset();
        assert_eq!(p.now(), SimTime::ZERO);
        assert!(p.frame(&wide(p.kind())).tokens.is_empty());
        assert_eq!(p.settings()[0].ms, 250.0);
    }

    #[test]
    fn the_queue_shows_waiting_messages() {
        let mut p = Playback::new(FigureKind::Broker);
        p.set_playing(true);
        p.set_speed(1.0).unwrap();
        for _ in 0..4 {
            p.act();
            for _ in 0..2 {
                p.tick(100.0);
            }
        }
        let q = p.frame(&wide(p.kind())).queue.unwrap();
        assert_eq!(q.name, "orders");
        assert_eq!(q.unacked, 1, "B holds one message at a time");
        assert!(q.ready >= 2, "the rest wait: {q:?}");
    }

    #[test]
    fn a_fault_is_drawn_said_and_summed_up() {
        let mut p = Playback::new(FigureKind::Hybrid);
        let model = p.sim().model().clone();
        let id = |name| model.node_named(name).unwrap();
        p.disrupt(Disruption::Crash(id("c"))).unwrap();
        assert!(p.narration().starts_with("C crashed"), "{}", p.narration());
        p.disrupt(Disruption::Slow(id("b"), 1000)).unwrap();
        assert_eq!(p.narration(), "B is slow now: its work takes ×10 its usual time.");
        p.disrupt(Disruption::LinkLoss(LinkId(2), 500)).unwrap();
        assert_eq!(p.narration(), "The broker ↔ C link now loses 50 % of the messages sent on it.");
        let f = p.frame(&wide(p.kind()));
        let (b, c) = (f.node("b").unwrap(), f.node("c").unwrap());
        assert!(c.down && !b.down);
        assert_eq!((b.slow_percent, c.slow_percent), (1000, 100));
        assert_eq!(f.link_loss, vec![0, 0, 500]);
        let summary = f.summary();
        assert!(
            summary.contains("B working, slow (×10)") || summary.contains("B idle, slow (×10)"),
            "{summary}"
        );
        assert!(summary.contains(" · C down · "), "{summary}");
        assert!(summary.contains("the broker ↔ C link loses 50 %"), "{summary}");

        // And back: the picture and the words say nothing of them any more.
        p.disrupt(Disruption::Recover(id("c"))).unwrap();
        p.disrupt(Disruption::Slow(id("b"), 100)).unwrap();
        assert_eq!(p.narration(), "B works at its usual speed again.");
        p.disrupt(Disruption::LinkLoss(LinkId(2), 0)).unwrap();
        let f = p.frame(&wide(p.kind()));
        assert!(f.nodes.iter().all(|n| !n.down && n.slow_percent == 100));
        assert!(f.lossy.is_empty() && f.link_loss.iter().all(|l| *l == 0));
        assert!(p.disrupt(Disruption::Slow(id("broker"), 200)).is_err(), "a broker has no work");
        assert_eq!(p.inputs().len(), 6, "the refused one is not recorded");
    }

    #[test]
    fn factors_and_shares_read_well() {
        assert_eq!(slowness(1000), "×10");
        assert_eq!(slowness(150), "×1.5");
        assert_eq!(slowness(1), "×0.01");
        assert_eq!(loss_text(500), "50 %");
        assert_eq!(loss_text(5), "0.5 %");
        assert_eq!(loss_text(1000), "100 %");
    }
}
