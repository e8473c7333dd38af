//! The figure's narration: one sentence for what just happened, read out politely.

use leptos::prelude::*;

/// One line of narration. Screen readers hear it through the page's one live region, the
/// [`crate::components::Announcer`], while this figure is the one in use.
#[component]
pub fn NarrationLine(
    /// The sentences to show.
    #[prop(into)]
    text: Signal<String>,
) -> impl IntoView {
    view! {
        <p class="narration" data-test="narration">
            {move || text.get()}
        </p>
    }
}
