//! The figure's narration: one sentence for what just happened, read out politely.

use leptos::prelude::*;

/// One line of narration in a polite live region.
#[component]
pub fn NarrationLine(
    /// The sentence to show.
    #[prop(into)]
    text: Signal<String>,
) -> impl IntoView {
    view! {
        <p class="narration" aria-live="polite" aria-atomic="true">
            {move || text.get()}
        </p>
    }
}
