//! callflow, the app: the page with the three live figures, drawn from the simulator's trace.
//!
//! - [`catalog`]: the figures as the page presents them (titles, captions, actions);
//! - [`playback`]: the run behind a figure and how the reader drives it, pure logic;
//! - [`scene`]: what is true now, folded from the trace;
//! - [`sequence`]: the run as a sequence diagram, folded from the trace and laid out;
//! - [`metrics`]: latency, blocked time, throughput, errors, queue depth and lag, from the trace;
//! - [`geometry`]: layouts, link ends, where a token is;
//! - [`compare`]: the three figures under one workload, side by side;
//! - [`embed`]: a figure mounted on another page, in its own shadow root;
//! - [`export`]: the run as Mermaid text or a JSON trace, and a trace file read back;
//! - [`narration`]: a sentence for what just happened;
//! - [`options`]: a figure's options from a link or an element, and the link of a run;
//! - [`presets`]: the failure lab's presets: a question, a start model, an answer from the trace;
//! - [`live`]: the reactive handle the components share;
//! - [`visibility`]: whether an element is on screen;
//! - [`components`]: the Leptos view, one component per file.

pub mod app;
pub mod catalog;
pub mod compare;
pub mod components;
pub mod embed;
pub mod export;
pub mod geometry;
pub mod live;
pub mod metrics;
pub mod narration;
pub mod options;
pub mod playback;
pub mod presets;
pub mod scene;
pub mod sequence;
pub mod visibility;

pub use app::App;
