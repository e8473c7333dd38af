//! The view: one public component per file.

mod announcer;
mod compare;
mod controls;
mod diagram;
mod faults;
mod figure;
mod lab;
mod metrics;
mod narration_line;
mod partitioner;
mod problems;
mod sequence;
mod settings;
mod share;
mod workload;

pub use announcer::Announcer;
pub use compare::Compare;
pub use controls::Controls;
pub use diagram::Diagram;
pub use faults::Faults;
pub use figure::Figure;
pub use lab::Lab;
pub use metrics::MetricsPanel;
pub use narration_line::NarrationLine;
pub use partitioner::PartitionerChoice;
pub use problems::Problems;
pub use sequence::SequenceDiagram;
pub use settings::Settings;
pub use share::{Share, SVG_STYLE};
pub use workload::Workload;
