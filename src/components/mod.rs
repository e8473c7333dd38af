//! The view: one public component per file.

mod announcer;
mod controls;
mod diagram;
mod figure;
mod narration_line;
mod partitioner;
mod problems;
mod settings;
mod share;

pub use announcer::Announcer;
pub use controls::Controls;
pub use diagram::Diagram;
pub use figure::Figure;
pub use narration_line::NarrationLine;
pub use partitioner::PartitionerChoice;
pub use problems::Problems;
pub use settings::Settings;
pub use share::{Share, SVG_STYLE};
