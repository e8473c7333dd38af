//! The reactive side of one figure: the playback in a stored value, the signals the components
//! read, the actions they call, and the animation-frame loop that drives a playing figure.

use leptos::prelude::*;

use callflow_sim::scenario::{Disruption, Gap};
use callflow_sim::Model;

use crate::catalog::FigureKind;
use crate::geometry::Layout;
use crate::options::Options;
use crate::playback::{Frame, Playback, Setting, Target};
use crate::presets::Preset;

/// A message under the settings: what a change did, or why it was refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// The page's voice: which figure the reader used last, and that figure's narration. The
/// [`crate::components::Announcer`] reads it out.
#[derive(Clone, Copy)]
pub struct Voice {
    /// The [`Live::id`] of the figure it speaks for.
    pub speaker: RwSignal<Option<u64>>,
    pub line: RwSignal<String>,
    /// When the line last changed (the page's clock, ms), and the narration it carried.
    spoken: StoredValue<(f64, String)>,
}

/// While a figure plays, its narration is read out at most this often: a polite live region
/// that changed every frame would drop most of it or fall ever further behind.
const SPEAK_EVERY_MS: f64 = 2_000.0;

impl Voice {
    pub fn new() -> Voice {
        Voice {
            speaker: RwSignal::new(None),
            line: RwSignal::new(String::new()),
            spoken: StoredValue::new((f64::NEG_INFINITY, String::new())),
        }
    }
}

impl Default for Voice {
    fn default() -> Voice {
        Voice::new()
    }
}

/// Where callflow's full page is, for links to a run: the folder the app is served from. The
/// main page has none in its context and links to itself.
#[derive(Clone, Debug)]
pub struct Home(pub String);

/// One figure's state as the components see it. Copy, so that every closure can hold it.
#[derive(Clone, Copy)]
pub struct Live {
    pub kind: FigureKind,
    /// Tells this figure from every other on the page, the same kind or not.
    pub id: u64,
    playback: StoredValue<Playback>,
    /// The frame loop that may run; an older loop sees a newer number and stops.
    generation: StoredValue<u64>,
    pub frame: RwSignal<Frame>,
    pub narration: RwSignal<String>,
    pub playing: RwSignal<bool>,
    pub speed: RwSignal<f64>,
    pub settings: RwSignal<Vec<Setting>>,
    pub notice: RwSignal<Option<Notice>>,
    /// The page's voice, if the page has one (a figure mounted alone has none).
    voice: Option<Voice>,
    /// Lay the figure out for a narrow screen.
    pub tall: Signal<bool>,
    /// Some of the figure is on screen. A playing figure that is not stays where it is and
    /// costs nothing, and goes on when it comes into view. False until someone says so.
    pub visible: RwSignal<bool>,
    /// Keep the page's address showing this figure's run (the main page does; embeds don't).
    in_address: bool,
    /// An update of the page's address is on its way.
    address_due: StoredValue<bool>,
    /// The frame loop stopped because nothing was scheduled.
    sleeping: StoredValue<bool>,
    /// The preset the run's start model came from, if any.
    pub preset: RwSignal<Option<Preset>>,
    /// The preset's answer, once its run is finished.
    pub answer: RwSignal<Option<String>>,
    /// The answer has been read out.
    answer_said: StoredValue<bool>,
    /// How A's jobs come in the run's start model.
    pub workload: RwSignal<Gap>,
}

/// The page's address follows a run at most this often: a burst of clicks rewrites it once,
/// and the browser's limit on history updates is never reached.
const ADDRESS_EVERY_MS: u64 = 400;

impl Live {
    /// A figure's state as `options` describe it: by default one action at time zero, so that
    /// there is something to watch from the first moment. It plays as soon as it is on screen
    /// unless the options say otherwise, open it at a moment or a preset, or the reader
    /// prefers reduced motion. With `in_address`, the page's address follows the run.
    pub fn new(options: &Options, tall: Signal<bool>, in_address: bool) -> Live {
        let kind = options.kind;
        let (playback, problem) = options.playback();
        let frame = playback.frame(&Layout::of(kind, tall.get_untracked()));
        let live = Live {
            kind,
            id: next_id(),
            narration: RwSignal::new(playback.narration().to_string()),
            speed: RwSignal::new(playback.speed()),
            settings: RwSignal::new(playback.settings()),
            playback: StoredValue::new(playback),
            generation: StoredValue::new(0),
            frame: RwSignal::new(frame),
            playing: RwSignal::new(false),
            notice: RwSignal::new(problem.map(|text| Notice { text, error: true })),
            voice: use_context::<Voice>(),
            tall,
            visible: RwSignal::new(false),
            in_address,
            address_due: StoredValue::new(false),
            sleeping: StoredValue::new(false),
            preset: RwSignal::new(options.preset),
            answer: RwSignal::new(None),
            answer_said: StoredValue::new(false),
            workload: RwSignal::new(Gap::Manual),
        };
        Effect::new(move |_| {
            tall.track();
            live.refresh();
        });
        // A preset waits for the reader to read its question.
        let autoplay =
            options.autoplay.unwrap_or(options.open_at.is_none() && options.preset.is_none());
        if autoplay && !prefers_reduced_motion() {
            live.set_playing(true);
        }
        live
    }

    /// The query string that reproduces the run as it is now.
    pub fn link(self) -> String {
        self.playback.with_value(crate::options::write)
    }

    /// Reads the playback, for exports.
    pub fn with_playback<T>(self, f: impl FnOnce(&Playback) -> T) -> T {
        self.playback.with_value(f)
    }

    /// Puts the run's link in the page's address, if this figure keeps it there. Replaces the
    /// entry rather than adding one: going back leaves the page, not one step of a run.
    fn remember(self) {
        if !self.in_address || self.address_due.try_get_value().unwrap_or(true) {
            return;
        }
        self.address_due.set_value(true);
        let write = move || {
            if self.address_due.try_set_value(false).is_some() {
                return; // the figure is gone
            }
            let url = format!("?{}#{}", self.link(), self.kind.slug());
            if let Ok(history) = window().history() {
                let _ =
                    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
            }
        };
        set_timeout(write, std::time::Duration::from_millis(ADDRESS_EVERY_MS));
    }

    /// Replays a run read from a trace file from its start, pausing where the file ends.
    pub fn replay(self, options: &Options) {
        self.engage();
        let inputs = options.inputs.clone().unwrap_or_default();
        let stop = options.open_at.map(|m| m.at);
        self.playback.update_value(|p| {
            p.set_preset(options.preset);
            p.replay(options.model.clone(), inputs, stop);
            let _ = p.set_speed(options.speed);
        });
        self.speed.set(options.speed);
        if let Some(s) = self.playback.try_with_value(Playback::settings) {
            self.settings.set(s);
        }
        self.notice.set(None);
        self.sleeping.set_value(false);
        self.set_playing(!prefers_reduced_motion());
        self.refresh();
        self.remember();
        self.say("Replaying the imported run from 0 ms.".to_string());
    }

    /// Starts the run again from `model`, nothing done yet: the figure itself was changed
    /// (how the log partitions, say). `said` tells the reader what changed.
    pub fn rebuild(self, model: Model, said: String) {
        self.engage();
        self.playback.update_value(|p| p.replay(model, Vec::new(), None));
        if let Some(s) = self.playback.try_with_value(Playback::settings) {
            self.settings.set(s);
        }
        self.notice.set(None);
        self.wake();
        self.refresh();
        self.remember();
        self.say(said);
    }

    /// The model the run started from.
    pub fn start_model(self) -> Model {
        self.playback.with_value(|p| p.start().clone())
    }

    /// The figure's nodes and links, with the settings as they are now.
    pub fn model(self) -> Model {
        self.playback.with_value(|p| p.sim().model().clone())
    }

    /// Copies what the playback says into the signals.
    fn refresh(self) {
        let tall = self.tall.get_untracked();
        let Some((frame, line)) = self
            .playback
            .try_with_value(|p| (p.frame(&Layout::of(self.kind, tall)), p.narration().to_string()))
        else {
            return;
        };
        self.frame.set(frame);
        if self.narration.get_untracked() != line {
            self.narration.set(line);
        }
        let Some((preset, answer, workload)) = self.playback.try_with_value(|p| {
            let workload = p.start().workloads.first().map_or(Gap::Manual, |w| w.gap);
            (p.preset(), p.preset().and_then(|x| x.answer_for(p)), workload)
        }) else {
            return;
        };
        if self.preset.get_untracked() != preset {
            self.preset.set(preset);
        }
        if self.answer.with_untracked(|a| *a != answer) {
            self.answer_said.set_value(answer.is_none());
            self.answer.set(answer);
        }
        if self.workload.get_untracked() != workload {
            self.workload.set(workload);
        }
    }

    /// The preset's answer, if it came since it was last read out; it counts as read out now.
    fn fresh_answer(self) -> Option<String> {
        if self.answer_said.try_get_value().unwrap_or(true) {
            return None;
        }
        self.answer_said.set_value(true);
        self.answer.get_untracked()
    }

    fn update(self, f: impl FnOnce(&mut Playback)) {
        self.playback.try_update_value(f);
        self.refresh();
    }

    /// After a frame: a replay that reached its end has paused itself.
    fn follow_pause(self) {
        let playing = self.playback.try_with_value(Playback::playing).unwrap_or(false);
        if self.playing.get_untracked() && !playing {
            self.playing.set(false);
            self.generation.try_update_value(|g| *g += 1);
            self.remember();
            self.say_narration();
        }
    }

    /// The page's voice, if this figure is the one it speaks for.
    fn voice(self) -> Option<Voice> {
        self.voice.filter(|v| v.speaker.get_untracked() == Some(self.id))
    }

    /// Says `text` through the page's live region, if this figure is the one in use.
    fn say(self, text: String) {
        if let Some(voice) = self.voice() {
            let narration = self.narration.get_untracked();
            voice.spoken.set_value((now_ms(), narration));
            voice.line.set(text);
        }
    }

    /// Says the narration, with the simulated time so that a repeated sentence is heard again.
    fn say_narration(self) {
        let now = self.frame.with_untracked(|f| f.now);
        let mut text = format!("At {now}: {}", self.narration.get_untracked());
        if let Some(answer) = self.fresh_answer() {
            text.push_str(&format!(" The run is over. Answer: {answer}"));
        }
        self.say(text);
    }

    /// While playing: says the narration if it changed and the last saying is old enough.
    fn say_now_and_then(self) {
        let Some(voice) = self.voice() else { return };
        let (at, said) = voice.spoken.get_value();
        if now_ms() - at >= SPEAK_EVERY_MS && self.narration.with_untracked(|n| *n != said) {
            self.say_narration();
        }
    }

    /// Notes that the reader is using this figure: from now on, it is the one the page speaks for.
    fn engage(self) {
        if let Some(voice) = self.voice {
            if voice.speaker.get_untracked() != Some(self.id) {
                voice.speaker.set(Some(self.id));
            }
        }
    }

    pub fn act(self) {
        self.engage();
        self.update(Playback::act);
        self.wake();
        self.remember();
        self.say_narration();
    }

    /// One event; a playing figure pauses first, so that the step is all that happens.
    pub fn step(self) {
        self.engage();
        self.set_playing(false);
        self.update(|p| {
            p.step();
        });
        self.remember();
        self.say_narration();
    }

    pub fn reset(self) {
        self.engage();
        self.update(Playback::reset);
        self.wake();
        self.notice.set(None);
        self.remember();
        self.say_narration();
    }

    pub fn set_playing(self, on: bool) {
        self.playback.try_update_value(|p| p.set_playing(on));
        self.playing.set(on);
        self.restart_clock();
        self.refresh();
    }

    /// Says whether any of the figure is on screen.
    pub fn set_visible(self, visible: bool) {
        if self.visible.get_untracked() != visible {
            self.visible.set(visible);
            self.restart_clock();
        }
    }

    /// Starts the frame loop again if it fell asleep with nothing to run.
    fn wake(self) {
        if self.sleeping.try_get_value() == Some(true) {
            self.sleeping.set_value(false);
            self.restart_clock();
        }
    }

    /// Ends the running frame loop, if any, and starts a new one when the figure plays and
    /// can be seen.
    fn restart_clock(self) {
        self.sleeping.try_set_value(false);
        self.generation.try_update_value(|g| *g += 1);
        if self.playing.get_untracked() && self.visible.get_untracked() {
            let generation = self.generation.try_get_value().unwrap_or_default();
            self.next_frame(generation, now_ms());
        }
    }

    pub fn toggle(self) {
        self.engage();
        let on = !self.playing.get_untracked();
        self.set_playing(on);
        self.remember();
        let now = self.frame.with_untracked(|f| f.now);
        self.say(if on { format!("Playing from {now}.") } else { format!("Paused at {now}.") });
    }

    /// Sets the speed, or says why not.
    pub fn set_speed(self, speed: f64) -> Result<(), String> {
        let done = self.playback.try_update_value(|p| p.set_speed(speed)).unwrap_or(Ok(()));
        self.speed.set(self.playback.try_with_value(Playback::speed).unwrap_or(speed));
        if done.is_ok() {
            self.remember();
        }
        done
    }

    /// Changes a setting and puts what happened in the notice.
    pub fn change(self, target: Target, ms: f64) {
        self.engage();
        let said = self.playback.try_update_value(|p| p.change(target, ms));
        let notice = match said {
            Some(Ok(text)) => Notice { text, error: false },
            Some(Err(text)) => Notice { text, error: true },
            None => return,
        };
        self.notice.set(Some(notice));
        if let Some(s) = self.playback.try_with_value(Playback::settings) {
            self.settings.set(s);
        }
        self.refresh();
        self.wake();
        self.remember();
    }

    /// Something goes wrong, or stops going wrong, now; recorded with the run.
    pub fn disrupt(self, d: Disruption) {
        self.engage();
        let mut refused = None;
        self.update(|p| refused = p.disrupt(d).err());
        if let Some(text) = refused {
            self.notice.set(Some(Notice { text, error: true }));
        }
        self.wake();
        self.remember();
        self.say_narration();
    }

    /// Starts the figure again from `options`, at the speed it has now: paused with `pause`,
    /// so that a preset's question is read before its run; otherwise playing or not as before.
    fn start_over(self, options: &Options, pause: bool, said: String) {
        self.engage();
        let (mut p, problem) = options.playback();
        let _ = p.set_speed(self.speed.get_untracked());
        let playing = !pause && self.playing.get_untracked();
        p.set_playing(playing);
        if self.playback.try_set_value(p).is_some() {
            return; // the figure is gone
        }
        self.playing.set(playing);
        if let Some(s) = self.playback.try_with_value(Playback::settings) {
            self.settings.set(s);
        }
        self.notice.set(problem.map(|text| Notice { text, error: true }));
        self.refresh();
        self.restart_clock();
        self.remember();
        self.say(said);
    }

    /// Opens a preset, paused at its start; `None` goes back to the plain figure.
    pub fn choose(self, preset: Option<Preset>) {
        let (options, said) = match preset {
            Some(p) => (
                Options::with_preset(p),
                format!("{}. {} Press Play to find out.", p.title(), p.question()),
            ),
            None => (Options::new(self.kind), "Back to the plain figure, at 0 ms.".to_string()),
        };
        self.start_over(&options, true, said);
    }

    /// Changes how A's jobs come: part of the run's start, so the run starts again, with the
    /// settings it has now.
    pub fn set_workload(self, gap: Gap) {
        let mut options = Options::new(self.kind);
        options.preset = self.preset.get_untracked();
        options.model = self.model();
        let a = options.model.node_named("a");
        options.model.workloads = match (gap, a) {
            (Gap::Manual, _) | (_, None) => Vec::new(),
            (gap, Some(service)) => {
                vec![callflow_sim::scenario::Workload { service, gap, count: None }]
            }
        };
        let said = match gap {
            Gap::Manual => format!(
                "A's jobs now come when you press “{}”. Started again at 0 ms.",
                self.kind.action()
            ),
            Gap::Fixed(d) => format!("A now gets a job every {d}. Started again at 0 ms."),
            Gap::Exponential(d) => format!(
                "A now gets jobs at random, one every {d} on average. Started again at 0 ms."
            ),
        };
        self.start_over(&options, false, said);
    }

    /// Asks for the next animation frame; the loop ends when paused, replaced or disposed.
    fn next_frame(self, generation: u64, last: f64) {
        request_animation_frame(move || {
            if self.generation.try_get_value() != Some(generation) {
                return;
            }
            let now = now_ms();
            self.update(|p| p.tick(now - last));
            self.follow_pause();
            self.say_now_and_then();
            if self.answer_said.try_get_value() == Some(false) {
                self.say_narration();
            }
            self.remember();
            // With nothing to run, the loop sleeps until the reader's next action wakes it.
            if self.playback.try_with_value(Playback::idle).unwrap_or(true) {
                self.sleeping.set_value(true);
                return;
            }
            self.next_frame(generation, now);
        });
    }
}

/// A number no other figure on the page has.
fn next_id() -> u64 {
    thread_local!(static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) });
    NEXT.with(|n| {
        n.set(n.get() + 1);
        n.get()
    })
}

/// The page's clock, in milliseconds.
fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// Whether the reader asked the system for less motion.
pub fn prefers_reduced_motion() -> bool {
    media_matches("(prefers-reduced-motion: reduce)")
}

pub fn media_matches(query: &str) -> bool {
    window().match_media(query).ok().flatten().is_some_and(|m| m.matches())
}
