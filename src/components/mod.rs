//! The view: one public component per file.

mod announcer;
mod controls;
mod diagram;
mod faults;
mod figure;
mod lab;
mod narration_line;
mod partitioner;
mod problems;
mod settings;
mod share;
mod workload;

pub use announcer::Announcer;
pub use controls::Controls;
pub use diagram::Diagram;
pub use faults::Faults;
pub use figure::Figure;
pub use lab::Lab;
pub use narration_line::NarrationLine;
pub use partitioner::PartitionerChoice;
pub use problems::Problems;
pub use settings::Settings;
pub use share::{Share, SVG_STYLE};
pub use workload::Workload;
