//! callflow, the app: the page with the three live figures, drawn from the simulator's trace.
//!
//! - [`catalog`]: the figures as the page presents them (titles, captions, actions);
//! - [`playback`]: the run behind a figure and how the reader drives it, pure logic;
//! - [`scene`]: what is true now, folded from the trace;
//! - [`geometry`]: layouts, link ends, where a token is;
//! - [`narration`]: a sentence for what just happened;
//! - [`live`]: the reactive handle the components share;
//! - [`visibility`]: whether an element is on screen;
//! - [`components`]: the Leptos view, one component per file.

pub mod app;
pub mod catalog;
pub mod components;
pub mod geometry;
pub mod live;
pub mod narration;
pub mod playback;
pub mod scene;
pub mod visibility;

pub use app::App;
