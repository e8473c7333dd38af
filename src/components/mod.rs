//! The view: one public component per file.

mod announcer;
mod compare;
mod controls;
mod diagram;
mod figure;
mod metrics;
mod narration_line;
mod problems;
mod sequence;
mod settings;
mod share;

pub use announcer::Announcer;
pub use compare::Compare;
pub use controls::Controls;
pub use diagram::Diagram;
pub use figure::Figure;
pub use metrics::MetricsPanel;
pub use narration_line::NarrationLine;
pub use problems::Problems;
pub use sequence::SequenceDiagram;
pub use settings::Settings;
pub use share::{Share, SVG_STYLE};
