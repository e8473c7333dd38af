//! One live figure: its title and caption, the diagram, a status line in words, the
//! narration, and whichever of the controls, the failure lab (presets, faults, workload),
//! settings and share tools its options show.

use leptos::prelude::*;

use crate::catalog::FigureKind;
use crate::components::{
    Controls, Diagram, Faults, Lab, MetricsPanel, NarrationLine, PartitionerChoice, Problems,
    SequenceDiagram, Settings, Share, Workload,
};
use crate::live::Live;
use crate::options::Options;
use crate::playback::Frame;

/// A figure with everything the reader needs to watch and poke it.
#[component]
pub fn Figure(
    /// Which figure, and how it starts and shows.
    options: Options,
    /// What was wrong with the options, a sentence each; shown above the figure.
    #[prop(default = Vec::new())]
    problems: Vec<String>,
    /// Lay out for a narrow screen.
    #[prop(into)]
    tall: Signal<bool>,
    /// On the main page: numbered, and the page's address follows the run. Embedded: neither.
    #[prop(default = false)]
    in_page: bool,
    /// Scroll the figure into view once drawn (the page's address named it).
    #[prop(default = false)]
    scroll_to: bool,
) -> impl IntoView {
    let kind = options.kind;
    let live = Live::new(&options, tall, in_page);
    let section = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = section.get() {
            crate::visibility::watch(&el, move |on_screen| live.set_visible(on_screen));
            if scroll_to {
                el.scroll_into_view();
            }
        }
    });

    let heading = format!("{}-heading", kind.slug());
    let labelled_by = heading.clone();
    let status = move || live.frame.with(Frame::summary);
    let title = if in_page {
        format!("Figure {}. {}", kind.number(), kind.title())
    } else {
        kind.title().to_string()
    };
    let caption = options.caption.clone().unwrap_or_else(|| kind.caption().to_string());
    let shown = options.shown;

    view! {
        <section node_ref=section class="figure" class:offscreen=move || !live.visible.get() dir="ltr" lang="en" id=kind.slug() aria-labelledby=labelled_by data-figure=kind.slug()>
            <h2 id=heading>{title}</h2>
            <p class="caption">{caption}</p>
            <Problems heading="Some of this figure's options could not be used:" problems=problems />
            {shown.lab.then(|| view! { <Lab live=live /> })}
            <Diagram live=live />
            <Controls live=live shown=shown />
            <p class="status" data-test="status">{status}</p>
            <NarrationLine text=live.narration />
            {(shown.settings && kind == FigureKind::Log).then(|| view! { <PartitionerChoice live=live /> })}
            {shown.lab.then(|| view! { <Faults live=live /> <Workload live=live /> })}
            <SequenceDiagram live=live />
            <MetricsPanel live=live />
            {shown.settings.then(|| view! { <Settings live=live /> })}
            {shown.share.then(|| view! { <Share live=live /> })}
        </section>
    }
}
