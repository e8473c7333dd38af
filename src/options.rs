//! A figure's options, as a link's query string or an embedding element's `data-` attributes
//! give them, and back: the figure, its preset, seed, speed, settings and workload, the
//! reader's inputs (actions, settings, faults) and the moment to open at, and how the figure
//! is shown. Reading never fails: a bad value gets a sentence for the page and its default.
//! Pure logic, tested natively.
//!
//! The keys: `figure=sync|async|hybrid`, `preset=<slug>` (see [`crate::presets`]; it names
//! its figure), `seed=`, `speed=`, `work-<node>=ms`, `link-<a>-<b>=ms`, `load=` (A's jobs:
//! `manual`, `every:<ms>` for one every so many milliseconds, `poisson:<ms>` for one every so
//! many on average), `in=` (the inputs, below), `t=` (the moment to open at), and for embeds
//! `autoplay=`, `caption=`, `controls=`, `parent=`.
//!
//! `in=` is a comma-separated list of inputs, each a moment (`340`, or `340@12`: after 12
//! events) and what happened then: nothing more for the figure's action; `~work-c~5000` or
//! `~link-a-b~90` for a setting; `~crash-b`, `~recover-b` for a node going down and up (the
//! broker's id is `broker`); `~slow-b~1000` for B's work taking 1000 percent of its time
//! (100: normal again); `~loss-a-b~500` for the link between A and B losing 500 of every 1000
//! messages (0: healthy again); `~cut-a-b`, `~heal-a-b` for a partition and its end.

use callflow_sim::scenario::{Disruption, Gap, Partitioner, Role, Workload, MAX_SLOW_PERCENT};
use callflow_sim::{LinkId, Model, NodeId, SimDuration, SimTime};

use crate::catalog::FigureKind;
#[cfg(test)]
use crate::playback::MAX_SEEK_EVENTS;
use crate::playback::{
    configure, Input, Moment, Playback, Target, Timed, DEFAULT_SPEED, MAX_SPEED, MIN_SPEED,
};
use crate::presets::Preset;

/// At most this many inputs in a link or a file.
pub const MAX_INPUTS: usize = 1_000;

/// The latest moment a link may open at: one simulated day.
pub const MAX_OPEN_AT_MS: f64 = 86_400_000.0;

/// Which of a figure's controls are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    pub act: bool,
    pub play: bool,
    pub step: bool,
    pub reset: bool,
    pub speed: bool,
    pub settings: bool,
    pub share: bool,
    /// The failure lab: presets, faults and workload.
    pub lab: bool,
}

impl Shown {
    pub const ALL: Shown = Shown {
        act: true,
        play: true,
        step: true,
        reset: true,
        speed: true,
        settings: true,
        share: true,
        lab: true,
    };
    pub const NONE: Shown = Shown {
        act: false,
        play: false,
        step: false,
        reset: false,
        speed: false,
        settings: false,
        share: false,
        lab: false,
    };
    const NAMES: [&'static str; 8] =
        ["act", "play", "step", "reset", "speed", "settings", "share", "lab"];

    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "act" => &mut self.act,
            "play" => &mut self.play,
            "step" => &mut self.step,
            "reset" => &mut self.reset,
            "speed" => &mut self.speed,
            "settings" => &mut self.settings,
            "share" => &mut self.share,
            "lab" => &mut self.lab,
            _ => return None,
        })
    }
}

/// Everything an author or a link can say about one figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub kind: FigureKind,
    /// The model the run starts from: the figure's, with the seed and settings applied.
    pub model: Model,
    pub speed: f64,
    /// `None`: play unless the reader prefers reduced motion.
    pub autoplay: Option<bool>,
    pub caption: Option<String>,
    pub shown: Shown,
    /// The reader's inputs; `None` means the default, one action at time zero.
    pub inputs: Option<Vec<Timed>>,
    /// Open the run at this moment, paused.
    pub open_at: Option<Moment>,
    /// The origin of the page framing an embed, to which it may report its height.
    pub parent: Option<String>,
    /// The preset the model comes from, if any.
    pub preset: Option<Preset>,
}

impl Options {
    /// A figure as it comes.
    pub fn new(kind: FigureKind) -> Options {
        Options {
            kind,
            model: kind.model(),
            speed: DEFAULT_SPEED,
            autoplay: None,
            caption: None,
            shown: Shown::ALL,
            inputs: None,
            open_at: None,
            parent: None,
            preset: None,
        }
    }

    /// A preset as it comes: its figure, with the preset's model.
    pub fn with_preset(preset: Preset) -> Options {
        Options { model: preset.model(), preset: Some(preset), ..Options::new(preset.figure()) }
    }

    /// What the run does unless the options say: nothing when A's jobs come by themselves; a
    /// preset's own inputs; otherwise one action at time zero, so that there is something to
    /// watch from the first moment.
    pub fn default_inputs(&self) -> Vec<Timed> {
        if self.model.workloads.iter().any(|w| w.gap != Gap::Manual) {
            return Vec::new();
        }
        if let Some(preset) = self.preset {
            return preset.inputs();
        }
        vec![Timed { moment: Moment { at: SimTime::ZERO, seq: None }, input: Input::Act }]
    }

    /// The run these options describe, brought to its moment. A run that cannot get there
    /// says why and stays where it got to.
    pub fn playback(&self) -> (Playback, Option<String>) {
        let mut p = Playback::from_model(self.kind, self.model.clone());
        let _ = p.set_speed(self.speed);
        p.set_preset(self.preset);
        let inputs = self.inputs.clone().unwrap_or_else(|| self.default_inputs());
        p.replay(self.model.clone(), inputs, None);
        let to = self.open_at.unwrap_or(Moment { at: SimTime::ZERO, seq: None });
        let mut problems: Vec<String> = p.seek(to).err().into_iter().collect();
        if problems.is_empty()
            && (p.now() != to.at || to.seq.is_some_and(|s| s != p.moment().seq.unwrap_or(s)))
        {
            problems.push(format!(
                "The link's moment ({}, after {} events) does not fit its run, which is at {} after {} events.",
                to.at,
                to.seq.map_or_else(|| "all its".to_string(), |s| s.to_string()),
                p.now(),
                p.sim().trace().len()
            ));
        }
        match p.misplaced() {
            0 => {}
            1 => problems.push("One of the link's inputs happened at another moment than it says: its count of events does not fit the run.".into()),
            n => problems.push(format!("{n} of the link's inputs happened at other moments than they say: their counts of events do not fit the run.")),
        }
        (p, (!problems.is_empty()).then(|| problems.join(" ")))
    }
}

/// Reads options from `(key, value)` pairs. `kind` is the figure when the pairs do not say (a
/// mounted element says it in `data-callflow`). `None` when no figure is named: the problems
/// say why.
pub fn read(
    kind: Option<FigureKind>,
    pairs: &[(String, String)],
) -> (Option<Options>, Vec<String>) {
    let mut problems = Vec::new();
    let last = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mut preset = None;
    if let Some(v) = last("preset") {
        let slug = v.trim().to_ascii_lowercase();
        match Preset::from_slug(&slug) {
            Some(p) => preset = Some(p),
            None if slug.is_empty() || slug == "none" => {}
            None => problems.push(format!(
                "preset: “{}” is not one of {}; showing the plain figure.",
                quote(v),
                Preset::ALL.map(Preset::slug).join(", ")
            )),
        }
    }
    // A preset names its figure, so a link may give the preset alone.
    let figure = last("figure").or(preset.map(|p| p.figure().slug()));
    let kind = match (figure, kind) {
        (Some(v), _) => match FigureKind::from_slug(&v.trim().to_ascii_lowercase()) {
            Some(k) => k,
            None => {
                problems.push(format!(
                    "figure: “{}” is not one of {}.",
                    quote(v),
                    FigureKind::SLUGS
                ));
                return (None, problems);
            }
        },
        (None, Some(k)) => k,
        (None, None) => {
            if !pairs.is_empty() {
                problems.push(format!("No figure is named (figure={}; on an element, data-callflow=\"hybrid\"), so these options were not used.", FigureKind::SLUGS));
            }
            return (None, problems);
        }
    };

    let mut o = Options::new(kind);
    match preset {
        Some(p) if p.figure() == kind => o = Options::with_preset(p),
        Some(p) => problems.push(format!(
            "preset: “{}” is a preset of Figure {} ({}), not of this figure; showing the plain figure.",
            p.slug(),
            p.figure().number(),
            p.figure().slug()
        )),
        None => {}
    }
    // Settings and inputs refer to the figure's nodes; the seed goes first so that settings
    // apply to the model with its seed.
    let mut settings = Vec::new();
    for (key, value) in pairs {
        let v = value.trim();
        match key.as_str() {
            "figure" | "callflow" | "preset" => {}
            "load" => match read_load(&o.model, v) {
                Some(workloads) => o.model.workloads = workloads,
                None => problems.push(format!(
                    "load: “{}” is not manual, every:MS or poisson:MS with MS from {MIN_GAP_MS} to {MAX_GAP_MS}; A's jobs come as the figure has them.",
                    quote(value)
                )),
            },
            "seed" => match v.parse::<u64>() {
                Ok(seed) => o.model.seed = seed,
                Err(_) => problems.push(format!(
                    "seed: “{}” is not a whole number from 0 to 18446744073709551615; using {}.",
                    quote(value),
                    o.model.seed
                )),
            },
            "speed" => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && (MIN_SPEED..=MAX_SPEED).contains(&s) => o.speed = s,
                _ => problems.push(format!(
                    "speed: “{}” is not a number from {MIN_SPEED} to {MAX_SPEED}; using {DEFAULT_SPEED}.",
                    quote(value)
                )),
            },
            "autoplay" => match v {
                "true" | "1" | "yes" | "" => o.autoplay = Some(true),
                "false" | "0" | "no" => o.autoplay = Some(false),
                _ => problems.push(format!(
                    "autoplay: “{}” is neither true nor false; the figure plays unless your system asks for reduced motion.",
                    quote(value)
                )),
            },
            "caption" => {
                let text: String = value.chars().filter(|c| !c.is_control()).take(600).collect();
                o.caption = Some(text);
            }
            "controls" => match read_shown(v) {
                Ok(s) => o.shown = s,
                Err(bad) => problems.push(format!(
                    "controls: “{}” is not a name among {}, none, all; showing them all.",
                    quote(&bad),
                    Shown::NAMES.join(", ")
                )),
            },
            "t" => match read_moment(v) {
                Some(m) if m.at.as_millis_f64() <= MAX_OPEN_AT_MS => o.open_at = Some(m),
                _ => problems.push(format!(
                    "t: “{}” is not a time in milliseconds from 0 to {MAX_OPEN_AT_MS}; opening at 0 ms.",
                    quote(value)
                )),
            },
            "in" => {} // read below, once the settings are known
            "partitioner" if kind == FigureKind::Log => match read_partitioner(v) {
                Some(p) => set_partitioner(&mut o.model, p),
                None => problems.push(format!(
                    "partitioner: “{}” is neither key nor round-robin; partitioning by key.",
                    quote(value)
                )),
            },
            "parent" => match read_origin(v) {
                Some(origin) => o.parent = Some(origin),
                None => problems.push(format!(
                    "parent: “{}” is not an origin such as https://docs.example.com; the frame reports its height to nobody.",
                    quote(value)
                )),
            },
            k => match setting_target(&o.model, k) {
                Some(target) => settings.push((k, target, value)),
                None => problems.push(format!("“{}” is not an option of this figure; ignored.", quote(k))),
            },
        }
    }
    for (key, target, value) in settings {
        let applied = parse_ms(value).and_then(|ms| configure(&mut o.model, target, ms));
        if let Err(why) = applied {
            // A reason that quotes the value already says it once.
            let value = if why.contains('“') {
                String::new()
            } else {
                format!("“{}”: ", quote(value))
            };
            problems.push(format!("{key}: {value}{}; using the figure's own value.", reason(&why)));
        }
    }
    if let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == "in") {
        match read_inputs(&o.model, v) {
            Ok(inputs) => o.inputs = Some(inputs),
            Err(why) => {
                problems.push(format!("in: {}; starting with one action at 0 ms.", reason(&why)))
            }
        }
    }
    (Some(o), problems)
}

/// A reason from the settings' own checks, without what they say to a reader at the field.
fn reason(why: &str) -> &str {
    let why = why.strip_suffix("; the setting is unchanged.").unwrap_or(why);
    why.strip_suffix('.').unwrap_or(why)
}

fn read_shown(v: &str) -> Result<Shown, String> {
    match v {
        "" | "all" => return Ok(Shown::ALL),
        "none" => return Ok(Shown::NONE),
        _ => {}
    }
    let mut shown = Shown::NONE;
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        *shown.flag(name).ok_or_else(|| name.to_string())? = true;
    }
    Ok(shown)
}

/// `340`, `340.5` or `340@12`: milliseconds, and optionally how many events came before.
fn read_moment(v: &str) -> Option<Moment> {
    let (ms, seq) = match v.split_once('@') {
        Some((ms, seq)) => (ms, Some(seq.parse::<u64>().ok()?)),
        None => (v, None),
    };
    let ms = ms.parse::<f64>().ok()?;
    Some(Moment { at: SimTime::from_millis_f64(ms)?, seq })
}

fn write_moment(m: Moment) -> String {
    let ms = millis(m.at.as_micros());
    match m.seq {
        Some(seq) => format!("{ms}@{seq}"),
        None => ms,
    }
}

/// Microseconds as milliseconds, exactly and without trailing zeros: 340, 340.5, 0.001.
fn millis(us: u64) -> String {
    let (whole, part) = (us / 1000, us % 1000);
    if part == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{part:03}").trim_end_matches('0').to_string()
    }
}

/// The inputs of a link: `0,340@12,900@40~work-c~5000`.
fn read_inputs(model: &Model, v: &str) -> Result<Vec<Timed>, String> {
    let mut inputs = Vec::new();
    for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if inputs.len() == MAX_INPUTS {
            return Err(format!("more than {MAX_INPUTS} inputs."));
        }
        let mut parts = entry.split('~');
        let when = parts.next().unwrap_or_default();
        let moment = read_moment(when)
            .ok_or_else(|| format!("“{}” is not a time in milliseconds.", quote(when)))?;
        let input = match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Input::Act,
            (Some(key), value, None) if fault_key(key) => {
                Input::Disrupt(read_fault(model, key, value)?)
            }
            (Some(key), Some(value), None) => {
                let target = setting_target(model, key)
                    .ok_or_else(|| format!("“{}” is not a setting of this figure.", quote(key)))?;
                let ms = parse_ms(value)?;
                // The range is checked here, so that a replay never meets a refusal.
                configure(&mut model.clone(), target, ms)?;
                Input::Set(target, ms)
            }
            _ => return Err(format!("“{}” is not an input.", quote(entry))),
        };
        if inputs.last().is_some_and(|t: &Timed| later(t.moment, moment)) {
            return Err(format!("“{}” comes before the input ahead of it.", quote(entry)));
        }
        inputs.push(Timed { moment, input });
    }
    Ok(inputs)
}

/// Whether an input's key names a fault rather than a setting.
fn fault_key(key: &str) -> bool {
    ["crash-", "recover-", "slow-", "loss-", "cut-", "heal-"].iter().any(|p| key.starts_with(p))
}

/// A fault of a link's inputs: `crash-b`, `recover-broker`, `slow-b` with a percent,
/// `loss-a-b` with a share per thousand, `cut-a-b`, `heal-a-b`.
fn read_fault(model: &Model, key: &str, value: Option<&str>) -> Result<Disruption, String> {
    let node = |id: &str| {
        model
            .node_named(id)
            .ok_or_else(|| format!("“{}” names no node of this figure.", quote(key)))
    };
    let pair = |ids: &str| {
        node_pair(model, ids)
            .ok_or_else(|| format!("“{}” names no two nodes of this figure.", quote(key)))
    };
    let number = |max: u32| -> Result<u32, String> {
        let v = value.ok_or_else(|| format!("“{}” needs a number after it.", quote(key)))?;
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("“{}” is not a whole number from 0 to {max}.", quote(v)))
    };
    let no_value = || match value {
        None => Ok(()),
        Some(_) => Err(format!("“{}” takes no number.", quote(key))),
    };
    if let Some(id) = key.strip_prefix("crash-") {
        no_value()?;
        return Ok(Disruption::Crash(node(id)?));
    }
    if let Some(id) = key.strip_prefix("recover-") {
        no_value()?;
        return Ok(Disruption::Recover(node(id)?));
    }
    if let Some(id) = key.strip_prefix("slow-") {
        let n = node(id)?;
        if !matches!(model.node(n).role, Role::Service(_)) {
            return Err(format!("“{}”: only a service can be slow.", quote(key)));
        }
        let percent = number(MAX_SLOW_PERCENT)?;
        if percent == 0 {
            return Err(format!("“{}” needs a percent from 1 to {MAX_SLOW_PERCENT}.", quote(key)));
        }
        return Ok(Disruption::Slow(n, percent));
    }
    if let Some(ids) = key.strip_prefix("loss-") {
        let link = match setting_target(model, &format!("link-{ids}")) {
            Some(Target::Link(l)) => l,
            _ => return Err(format!("“{}” names no link of this figure.", quote(key))),
        };
        return Ok(Disruption::LinkLoss(link, number(1000)? as u16));
    }
    if let Some(ids) = key.strip_prefix("cut-") {
        no_value()?;
        let (a, b) = pair(ids)?;
        return Ok(Disruption::Partition(a, b));
    }
    let ids = key.strip_prefix("heal-").unwrap_or(key);
    no_value()?;
    let (a, b) = pair(ids)?;
    Ok(Disruption::Heal(a, b))
}

/// Two different nodes, as `a-b`.
fn node_pair(model: &Model, ids: &str) -> Option<(NodeId, NodeId)> {
    let ids_of = || model.nodes.iter().enumerate();
    ids_of().find_map(|(i, x)| {
        let rest = ids.strip_prefix(x.id.as_str())?.strip_prefix('-')?;
        let j = ids_of().find(|(_, y)| y.id == rest)?.0;
        (i != j).then_some((NodeId(i as u16), NodeId(j as u16)))
    })
}

/// A fault as a link writes it.
fn fault_text(model: &Model, d: Disruption) -> String {
    let id = |n: NodeId| model.nodes.get(n.0 as usize).map_or("?", |x| x.id.as_str());
    match d {
        Disruption::Crash(n) => format!("crash-{}", id(n)),
        Disruption::Recover(n) => format!("recover-{}", id(n)),
        Disruption::Slow(n, percent) => format!("slow-{}~{percent}", id(n)),
        Disruption::LinkLoss(l, per_mille) => {
            format!("loss-{}~{per_mille}", &setting_key(model, Target::Link(l))["link-".len()..])
        }
        Disruption::Partition(a, b) => format!("cut-{}-{}", id(a), id(b)),
        Disruption::Heal(a, b) => format!("heal-{}-{}", id(a), id(b)),
    }
}

/// The range of a workload's gap between two of A's jobs, in milliseconds: a gap shorter than
/// this floods the page, a longer one is hardly a workload.
pub const MIN_GAP_MS: f64 = 10.0;
pub const MAX_GAP_MS: f64 = 60_000.0;

/// A's workload as a link gives it: `manual`, `every:500`, `poisson:500`. `None` if it is not
/// one of those, or the gap is out of range.
pub fn read_load(model: &Model, v: &str) -> Option<Vec<Workload>> {
    let v = v.trim().to_ascii_lowercase();
    if v == "manual" {
        return Some(Vec::new());
    }
    let (kind, ms) = v.split_once(':')?;
    let ms = ms.trim().parse::<f64>().ok().filter(|ms| (MIN_GAP_MS..=MAX_GAP_MS).contains(ms))?;
    let gap = SimDuration::from_millis_f64(ms)?;
    let gap = match kind.trim() {
        "every" => Gap::Fixed(gap),
        "poisson" => Gap::Exponential(gap),
        _ => return None,
    };
    let service = model.node_named("a")?;
    Some(vec![Workload { service, gap, count: None }])
}

/// A's workload as a link writes it.
pub fn write_load(workloads: &[Workload]) -> String {
    match workloads.first().map(|w| w.gap) {
        Some(Gap::Fixed(d)) => format!("every:{}", millis(d.as_micros())),
        Some(Gap::Exponential(d)) => format!("poisson:{}", millis(d.as_micros())),
        Some(Gap::Manual) | None => "manual".into(),
    }
}

/// `a` comes after `b`.
fn later(a: Moment, b: Moment) -> bool {
    a.at > b.at || (a.at == b.at && matches!((a.seq, b.seq), (Some(x), Some(y)) if x > y))
}

/// `https://docs.example.com` or `http://127.0.0.1:3000`: a scheme, a host, maybe a port.
fn read_origin(v: &str) -> Option<String> {
    // A pasted address often ends in a slash; an origin never does.
    let v = v.strip_suffix('/').unwrap_or(v);
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"))?;
    let ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| v.to_string())
}

/// The setting a key names: `work-c` for C's processing time, `link-a-b` for the latency of the
/// link between A and B (either order).
fn setting_target(model: &Model, key: &str) -> Option<Target> {
    if let Some(node) = key.strip_prefix("work-") {
        let id = model.node_named(node)?;
        return matches!(model.node(id).role, Role::Service(_)).then_some(Target::Processing(id));
    }
    let pair = key.strip_prefix("link-")?;
    model.links.iter().enumerate().find_map(|(i, l)| {
        let (a, b) = (&model.node(l.a).id, &model.node(l.b).id);
        (pair == format!("{a}-{b}") || pair == format!("{b}-{a}"))
            .then_some(Target::Link(LinkId(i as u16)))
    })
}

/// The key that names a setting.
fn setting_key(model: &Model, target: Target) -> String {
    let id = |n: NodeId| model.node(n).id.clone();
    match target {
        Target::Processing(n) => format!("work-{}", id(n)),
        Target::Link(l) => {
            let link = model.link(l);
            format!("link-{}-{}", id(link.a), id(link.b))
        }
    }
}

/// How the model's first log partitions its first topic, if it has a log.
pub fn partitioner(model: &Model) -> Option<Partitioner> {
    model.nodes.iter().find_map(|n| match &n.role {
        Role::Log(l) => l.topics.first().map(|t| t.partitioner),
        _ => None,
    })
}

/// Sets how every topic of every log in the model picks a record's partition.
pub fn set_partitioner(model: &mut Model, p: Partitioner) {
    for n in &mut model.nodes {
        if let Role::Log(l) = &mut n.role {
            for t in &mut l.topics {
                t.partitioner = p;
            }
        }
    }
}

/// The partitioner's name in links: `key` or `round-robin`.
pub fn partitioner_name(p: Partitioner) -> &'static str {
    match p {
        Partitioner::ByKey => "key",
        Partitioner::RoundRobin => "round-robin",
    }
}

fn read_partitioner(v: &str) -> Option<Partitioner> {
    match v.to_ascii_lowercase().as_str() {
        "key" | "by-key" => Some(Partitioner::ByKey),
        "round-robin" | "roundrobin" => Some(Partitioner::RoundRobin),
        _ => None,
    }
}

/// Whether [`write`] gives the whole run: a link holds at most [`MAX_INPUTS`] inputs, and
/// opens at most [`MAX_OPEN_AT_MS`] into a run.
pub fn whole(p: &Playback) -> bool {
    not_whole(p).is_none()
}

/// Why a link cannot hold the whole run, in a sentence, if it cannot.
pub fn not_whole(p: &Playback) -> Option<String> {
    if p.inputs().len() + p.pending().count() > MAX_INPUTS {
        return Some(format!("This run has more than {MAX_INPUTS} actions, too many for a link"));
    }
    if p.now().as_millis_f64() > MAX_OPEN_AT_MS {
        return Some(
            "This run goes past 24 hours of simulated time, further than a link opens".into(),
        );
    }
    None
}

/// The query string that reproduces a run: the figure, the seed and settings it started with
/// where they differ from the figure's own, the speed, the reader's inputs and the moment now.
/// A run with more inputs than a link may hold gets the start only: its settings, nothing done.
pub fn write(p: &Playback) -> String {
    let kind = p.kind();
    let own = p.preset().map_or_else(|| kind.model(), Preset::model);
    let start = p.start();
    let mut parts = vec![format!("figure={}", kind.slug())];
    if let Some(preset) = p.preset() {
        parts.push(format!("preset={}", preset.slug()));
    }
    if start.seed != own.seed {
        parts.push(format!("seed={}", start.seed));
    }
    for (i, (l, o)) in start.links.iter().zip(&own.links).enumerate() {
        if l.latency != o.latency {
            let key = setting_key(start, Target::Link(LinkId(i as u16)));
            parts.push(format!("{key}={}", l.latency.mean().as_millis_f64()));
        }
    }
    for (i, (n, o)) in start.nodes.iter().zip(&own.nodes).enumerate() {
        if let (Role::Service(s), Role::Service(so)) = (&n.role, &o.role) {
            if s.processing != so.processing {
                let key = setting_key(start, Target::Processing(NodeId(i as u16)));
                parts.push(format!("{key}={}", s.processing.mean().as_millis_f64()));
            }
        }
    }
    if let (Some(p), Some(o)) = (partitioner(start), partitioner(&own)) {
        if p != o {
            parts.push(format!("partitioner={}", partitioner_name(p)));
        }
    }
    if start.workloads != own.workloads {
        parts.push(format!("load={}", write_load(&start.workloads)));
    }
    if p.speed() != DEFAULT_SPEED {
        parts.push(format!("speed={}", p.speed()));
    }
    if !whole(p) {
        parts.push("in=".to_string());
        return parts.join("&");
    }
    // What the reader did, and what a link or file still has to do: a link opened before its
    // last inputs must keep them.
    let inputs: Vec<String> = p
        .inputs()
        .iter()
        .chain(p.pending())
        .map(|t| match t.input {
            Input::Act => write_moment(t.moment),
            Input::Set(target, ms) => {
                format!("{}~{}~{ms}", write_moment(t.moment), setting_key(start, target))
            }
            Input::Disrupt(d) => format!("{}~{}", write_moment(t.moment), fault_text(start, d)),
        })
        .collect();
    parts.push(format!("in={}", inputs.join(",")));
    parts.push(format!("t={}", write_moment(p.moment())));
    parts.join("&")
}

/// Reads a time as a person typed it: "250", " 1.5 ms", "1e3", "2 s". The range is checked by
/// whoever applies it; here only the form.
pub fn parse_ms(raw: &str) -> Result<f64, String> {
    let t = raw.trim();
    let (number, scale) = match t.strip_suffix("ms") {
        Some(n) => (n, 1.0),
        None => match t.strip_suffix('s') {
            Some(n) => (n, 1000.0),
            None => (t, 1.0),
        },
    };
    let number = number.trim();
    if number.is_empty() {
        return Err("Enter a number of milliseconds; the setting is unchanged.".into());
    }
    match number.parse::<f64>() {
        Ok(v) if !v.is_nan() => Ok(v * scale),
        _ if number.contains(',') => Err(format!(
            "“{}” has a comma: write the number without separators, with a point for decimals \
             (1500, or 1.5); the setting is unchanged.",
            quote(t)
        )),
        _ => Err(format!(
            "“{}” is not a number of milliseconds; the setting is unchanged.",
            quote(t)
        )),
    }
}

/// At most 40 characters of what someone wrote, for quoting it back, without the invisible
/// characters that could reorder or hide the sentence around it.
pub fn quote(s: &str) -> String {
    const MAX: usize = 40;
    let visible = |c: &char| {
        !c.is_control()
            && !matches!(*c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
    };
    let kept: Vec<char> = s.chars().filter(visible).collect();
    let mut out: String = kept.iter().take(MAX).collect();
    if kept.len() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ms(p: &Playback, target: Target) -> f64 {
        p.settings().iter().find(|s| s.target == target).unwrap().ms
    }

    #[test]
    fn a_written_run_reads_back_to_the_same_trace() {
        let mut p = Playback::new(FigureKind::Hybrid);
        let c = p.sim().model().node_named("c").unwrap();
        p.change(Target::Processing(c), 5000.0).unwrap();
        p.reset();
        p.act();
        p.set_playing(true);
        for _ in 0..7 {
            p.tick(100.0);
        }
        p.step();
        p.act();
        p.step();
        p.change(Target::Link(LinkId(0)), 90.0).unwrap();
        for _ in 0..30 {
            p.tick(100.0);
        }
        let query = write(&p);
        assert!(query.starts_with("figure=hybrid&work-c=5000&"), "{query}");

        let (o, problems) = read(None, &pairs(&query));
        assert_eq!(problems, Vec::<String>::new());
        let (q, problem) = o.unwrap().playback();
        assert_eq!(problem, None);
        let events = |p: &Playback| p.sim().trace().since(0).cloned().collect::<Vec<_>>();
        assert_eq!(events(&q), events(&p));
        assert_eq!(q.now(), p.now());
        assert_eq!(write(&q), query, "and it writes the same link again");
        assert_eq!(ms(&q, Target::Link(LinkId(0))), 90.0);
    }

    #[test]
    fn an_input_between_two_events_of_one_instant_keeps_its_place() {
        // In Figure 2, A's publish reaches the broker and the broker both stores it and
        // delivers it at one instant; acting between those events must replay between them.
        let mut p = Playback::new(FigureKind::Broker);
        p.act();
        let mut acted = false;
        while p.step() {
            let now = p.now();
            if !acted && p.sim().next_due() == Some(now) {
                p.act();
                acted = true;
            }
        }
        assert!(acted, "some instant had two events");
        let (o, _) = read(None, &pairs(&write(&p)));
        let (q, _) = o.unwrap().playback();
        let events = |p: &Playback| p.sim().trace().since(0).cloned().collect::<Vec<_>>();
        assert_eq!(events(&q), events(&p));
    }

    #[test]
    fn hostile_values_get_a_sentence_and_the_default() {
        let q = "figure=sync&seed=<script>alert(1)</script>&speed=NaN&speed=1e308&t=-5&\
                 work-b=1e999&link-a-zz=5&controls=play,<b>&autoplay=maybe&in=0,abc&\
                 parent=javascript:alert(1)&onload=x";
        let (o, problems) = read(None, &pairs(q));
        let o = o.expect("the figure is named, so it is shown");
        assert_eq!(o.model, FigureKind::RequestResponse.model(), "every setting at its default");
        assert_eq!(o.speed, DEFAULT_SPEED);
        assert_eq!(
            (o.autoplay, o.open_at, o.inputs.as_ref(), o.parent.as_ref()),
            (None, None, None, None)
        );
        assert_eq!(o.shown, Shown::ALL);
        let all = problems.join("\n");
        for key in [
            "seed:",
            "speed:",
            "t:",
            "work-b:",
            "link-a-zz",
            "controls:",
            "autoplay:",
            "in:",
            "parent:",
            "onload",
        ] {
            assert!(all.contains(key), "no word on {key}: {all}");
        }
        assert_eq!(problems.len(), 11, "{all}");
        assert!(problems.iter().all(|p| p.len() < 240), "{all}");
        assert!(!all.contains("unchanged") && !all.contains(".;"), "{all}");
        let (_, problems) = read(None, &pairs("figure=sync&work-b=1,5"));
        assert_eq!(problems[0].matches("1,5").count(), 1, "the value is quoted once: {problems:?}");
    }

    #[test]
    fn an_unknown_figure_is_said_and_nothing_else_is_read() {
        let (o, problems) = read(None, &pairs("figure=%3Cimg%3E&seed=3"));
        assert!(o.is_none());
        assert_eq!(problems.len(), 1);
        let (o, problems) = read(None, &pairs("seed=3"));
        assert!(o.is_none() && problems.len() == 1);
        let (o, problems) = read(None, &[]);
        assert!(o.is_none() && problems.is_empty(), "a plain page has nothing to say");
    }

    #[test]
    fn an_author_names_settings_controls_and_inputs_by_hand() {
        let q = "work-c=5 s&link-b-a=120&controls=act, play&in=0,2000,2500~work-c~10&t=3000&autoplay=false&caption=Mine";
        let (o, problems) = read(Some(FigureKind::Hybrid), &pairs(q));
        assert_eq!(problems, Vec::<String>::new());
        let o = o.unwrap();
        assert_eq!(o.shown, Shown { act: true, play: true, ..Shown::NONE });
        assert_eq!((o.autoplay, o.caption.as_deref()), (Some(false), Some("Mine")));
        let (p, _) = o.playback();
        let c = p.sim().model().node_named("c").unwrap();
        assert_eq!(ms(&p, Target::Processing(c)), 10.0, "the input at 2.5 s ran");
        assert_eq!(ms(&p, Target::Link(LinkId(0))), 120.0);
        assert_eq!(p.inputs().len(), 3);
        assert_eq!(p.now(), SimTime::from_micros(3_000_000));
    }

    #[test]
    fn a_run_past_the_furthest_moment_a_link_opens_at_links_to_its_start() {
        let (o, problems) = read(None, &pairs("figure=hybrid&in=0,90000000"));
        assert!(problems.is_empty(), "{problems:?}");
        let (mut p, _) = o.unwrap().playback();
        assert!(whole(&p), "a link of this moment opens at 0 ms and keeps the input to come");
        p.seek(Moment { at: SimTime::from_micros(90_001_000_000), seq: None }).unwrap();
        assert!(not_whole(&p).is_some_and(|why| why.contains("24 hours")));
        let (q, _) = read(None, &pairs(&write(&p))).0.unwrap().playback();
        assert_eq!((q.inputs().len(), q.now()), (0, SimTime::ZERO));
    }

    #[test]
    fn a_run_with_more_inputs_than_a_link_holds_links_to_its_start() {
        let mut p = Playback::new(FigureKind::RequestResponse);
        for _ in 0..=MAX_INPUTS {
            p.act();
        }
        assert!(!whole(&p));
        let (o, problems) = read(None, &pairs(&write(&p)));
        assert!(problems.is_empty(), "{problems:?}");
        let (q, _) = o.unwrap().playback();
        assert_eq!((q.inputs().len(), q.now()), (0, SimTime::ZERO));
    }

    #[test]
    fn a_link_keeps_the_inputs_that_have_not_happened_yet() {
        let (o, _) = read(None, &pairs("figure=HYBRID&in=0,3000&t=100"));
        let (p, problem) = o.unwrap().playback();
        assert_eq!(problem, None);
        let query = write(&p);
        assert!(query.contains("in=0@0,3000&t=100@"), "{query}");
    }

    #[test]
    fn a_hand_edited_moment_that_does_not_fit_its_run_is_said() {
        // At 390 ms of Figure 3 there have been 24 events; 2 s after 24 events cannot be.
        let (o, _) = read(None, &pairs("figure=hybrid&in=0&t=2000@24"));
        let (p, problem) = o.unwrap().playback();
        let problem = problem.expect("the moment does not fit");
        assert!(problem.contains("does not fit its run"), "{problem}");
        assert!(p.now() < SimTime::from_micros(2_000_000));
        let (o, _) = read(None, &pairs("figure=hybrid&in=0,500@3&t=1000"));
        let (_, problem) = o.unwrap().playback();
        assert!(problem.unwrap().contains("One of the link's inputs"));
        let (o, _) = read(None, &pairs("figure=hybrid&in=0,500&t=600"));
        assert_eq!(o.unwrap().playback().1, None, "a moment without a count fits any run");
    }

    #[test]
    fn inputs_out_of_order_or_out_of_range_are_refused() {
        let model = FigureKind::Hybrid.model();
        assert!(read_inputs(&model, "100,50").is_err());
        assert!(read_inputs(&model, "0~work-c~70000").is_err());
        assert!(read_inputs(&model, "0~work-zz~1").is_err());
        assert!(read_inputs(&model, "0~work-c").is_err());
        let many = vec!["1"; MAX_INPUTS + 1].join(",");
        assert!(read_inputs(&model, &many).unwrap_err().contains("more than"));
        assert_eq!(read_inputs(&model, "").unwrap(), vec![]);
    }

    #[test]
    fn the_longest_link_is_reached_within_the_budget() {
        // As many actions as a link may hold, 1 ms apart, pile up in Figure 2's queue.
        let ins: Vec<String> = (0..MAX_INPUTS).map(|i| i.to_string()).collect();
        let q = format!("figure=async&work-b=60000&in={}&t=86400000", ins.join(","));
        let (o, problems) = read(None, &pairs(&q));
        assert!(problems.is_empty(), "{problems:?}");
        let (p, problem) = o.unwrap().playback();
        assert_eq!(problem, None);
        assert_eq!(p.now(), SimTime::from_micros(86_400_000_000));
        assert!(p.sim().trace().len() < MAX_SEEK_EVENTS as u64 / 4, "{}", p.sim().trace().len());

        // With a smaller budget the same run stops short and says where.
        let (o, _) = read(None, &pairs(&q));
        let o = o.unwrap();
        let mut p = Playback::from_model(o.kind, o.model.clone());
        p.replay(o.model.clone(), o.inputs.clone().unwrap(), None);
        let problem = p.seek_within(o.open_at.unwrap(), 5_000).unwrap_err();
        assert!(problem.starts_with("Stopped at"), "{problem}");
        assert!(p.now() < SimTime::from_micros(86_400_000_000));
    }

    #[test]
    fn typed_times_are_read_or_refused() {
        assert_eq!(parse_ms(" 250 "), Ok(250.0));
        assert_eq!(parse_ms("1.5ms"), Ok(1.5));
        assert_eq!(parse_ms("1e3"), Ok(1000.0));
        assert!(parse_ms("").is_err());
        assert!(parse_ms("NaN").is_err());
        assert_eq!(parse_ms("2 s"), Ok(2000.0));
        assert_eq!(parse_ms("1e400"), Ok(f64::INFINITY), "a number, if out of range");
        assert!(parse_ms("NaN").is_err());
        assert!(parse_ms("s").is_err());
        assert!(parse_ms("5 sec").is_err());
        assert!(parse_ms("1,5").unwrap_err().contains("without separators"));
        assert!(parse_ms("60,000").unwrap_err().contains("(1500, or 1.5)"));
        let err = parse_ms("<script>alert(1)</script> and a very long tail").unwrap_err();
        assert!(err.contains('…') && err.len() < 120, "{err}");
        let err = parse_ms("\u{202e}abc").unwrap_err();
        assert!(err.contains("“abc”"), "{err}");
    }

    #[test]
    fn times_are_written_exactly() {
        assert_eq!(millis(340_000), "340");
        assert_eq!(millis(340_500), "340.5");
        assert_eq!(millis(1), "0.001");
        assert_eq!(
            read_moment("340.5@7"),
            Some(Moment { at: SimTime::from_micros(340_500), seq: Some(7) })
        );
        assert_eq!(
            read_moment("1e3"),
            Some(Moment { at: SimTime::from_micros(1_000_000), seq: None })
        );
        assert_eq!(read_moment("NaN"), None);
        assert_eq!(read_moment("5@x"), None);
    }

    #[test]
    fn origins_are_plain() {
        assert_eq!(
            read_origin("https://docs.example.com").as_deref(),
            Some("https://docs.example.com")
        );
        assert_eq!(read_origin("http://127.0.0.1:3000").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(read_origin("https://a.com/path"), None);
        assert_eq!(read_origin("http://127.0.0.1:3000/").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(read_origin("*"), None);
        assert_eq!(read_origin("javascript:alert(1)"), None);
        assert_eq!(read_origin("https://"), None);
    }

    #[test]
    fn faults_from_the_page_round_trip_through_a_link() {
        let mut p = Playback::new(FigureKind::Hybrid);
        let m = p.sim().model().clone();
        let id = |name| m.node_named(name).unwrap();
        p.act();
        p.step();
        p.disrupt(Disruption::Crash(id("c"))).unwrap();
        p.disrupt(Disruption::Slow(id("b"), 1000)).unwrap();
        p.step();
        p.disrupt(Disruption::LinkLoss(LinkId(0), 500)).unwrap();
        p.disrupt(Disruption::Crash(id("broker"))).unwrap();
        p.act();
        for _ in 0..5 {
            p.step();
        }
        p.disrupt(Disruption::Partition(id("a"), id("b"))).unwrap();
        p.disrupt(Disruption::Heal(id("b"), id("a"))).unwrap();
        p.disrupt(Disruption::Recover(id("broker"))).unwrap();
        p.disrupt(Disruption::LinkLoss(LinkId(0), 0)).unwrap();
        p.disrupt(Disruption::Slow(id("b"), 100)).unwrap();
        p.set_playing(true);
        for _ in 0..40 {
            p.tick(100.0);
        }
        let query = write(&p);
        for part in [
            "~crash-c",
            "~slow-b~1000",
            "~loss-a-b~500",
            "~crash-broker",
            "~cut-a-b",
            "~heal-b-a",
            "~recover-broker",
            "~loss-a-b~0",
            "~slow-b~100",
        ] {
            assert!(query.contains(part), "{part} in {query}");
        }
        let (o, problems) = read(None, &pairs(&query));
        assert_eq!(problems, Vec::<String>::new());
        let (q, problem) = o.unwrap().playback();
        assert_eq!(problem, None);
        let events = |p: &Playback| p.sim().trace().since(0).cloned().collect::<Vec<_>>();
        assert_eq!(events(&q), events(&p));
        assert_eq!(write(&q), query);
    }

    #[test]
    fn hostile_faults_get_a_sentence_and_the_default_inputs() {
        for bad in [
            "0~crash-zz",
            "0~crash-b~5",
            "0~slow-b",
            "0~slow-b~0",
            "0~slow-b~1e9",
            "0~slow-b~-3",
            "0~slow-broker~200",
            "0~loss-a-c~500",
            "0~loss-a-b~1001",
            "0~cut-a-a",
            "0~heal-a",
            "0~recover-",
            "0~crash-<script>",
        ] {
            let (o, problems) = read(None, &pairs(&format!("figure=hybrid&in={bad}")));
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(problems[0].starts_with("in: "), "{bad}: {problems:?}");
            assert!(problems[0].ends_with("starting with one action at 0 ms."), "{problems:?}");
            assert_eq!(o.unwrap().inputs, None, "{bad}");
        }
    }

    #[test]
    fn a_workload_is_part_of_the_start_and_of_the_link() {
        let (o, problems) = read(None, &pairs("figure=async&load=every:250"));
        assert_eq!(problems, Vec::<String>::new());
        let o = o.unwrap();
        assert_eq!(o.model.workloads[0].gap, Gap::Fixed(SimDuration::from_millis(250)));
        assert_eq!(o.default_inputs(), vec![], "the workload brings the jobs");
        let (mut p, _) = o.playback();
        p.set_playing(true);
        p.set_speed(1.0).unwrap();
        for _ in 0..10 {
            p.tick(100.0);
        }
        let arrived = p
            .sim()
            .trace()
            .since(0)
            .filter(|e| matches!(e.kind, callflow_sim::EventKind::Arrived { .. }))
            .count();
        assert_eq!(arrived, 5, "at 0, 250, 500, 750 and 1000 ms");
        let query = write(&p);
        assert!(query.contains("&load=every:250&"), "{query}");
        let (q, _) = read(None, &pairs(&query)).0.unwrap().playback();
        let events = |p: &Playback| p.sim().trace().since(0).cloned().collect::<Vec<_>>();
        assert_eq!(events(&q), events(&p));

        let (o, _) = read(None, &pairs("figure=async&load=poisson:100.5"));
        let start = o.unwrap().playback().0;
        assert_eq!(write_load(&start.start().workloads), "poisson:100.5");
        for bad in [
            "fast",
            "every:0",
            "every:5",
            "poisson:-1",
            "every:NaN",
            "every:1e9",
            "poisson:",
            "steady:100",
        ] {
            let (o, problems) = read(None, &pairs(&format!("figure=sync&load={bad}")));
            assert_eq!(problems.len(), 1, "{bad}");
            assert!(problems[0].starts_with("load: "), "{problems:?}");
            assert!(o.unwrap().model.workloads.is_empty());
        }
    }

    #[test]
    fn a_link_names_a_preset_or_says_why_not() {
        let (o, problems) = read(None, &pairs("preset=c-down"));
        assert_eq!(problems, Vec::<String>::new());
        let o = o.unwrap();
        assert_eq!((o.kind, o.preset), (FigureKind::Hybrid, Some(Preset::CDown)));
        assert_eq!(o.model, Preset::CDown.model());

        let (o, problems) = read(None, &pairs("figure=sync&preset=c-down"));
        assert_eq!(o.unwrap().preset, None);
        assert!(problems[0].contains("preset of Figure 3"), "{problems:?}");

        let (o, problems) = read(None, &pairs("figure=sync&preset=<b>nope</b>"));
        assert_eq!(o.unwrap().model, FigureKind::RequestResponse.model());
        assert!(problems[0].starts_with("preset: “<b>nope</b>” is not one of"), "{problems:?}");

        // A setting in a preset's link is measured against the preset's model.
        let (o, problems) = read(None, &pairs("preset=retry&work-b=100"));
        assert!(problems.is_empty(), "{problems:?}");
        let (p, _) = o.unwrap().playback();
        assert!(
            write(&p).starts_with("figure=sync&preset=retry&work-b=100&in=0@0&"),
            "{}",
            write(&p)
        );
    }
}
