//! A figure's presets that teach: a button for each, and for the one chosen its question
//! before the run and its answer, from the run's trace, once the run is over.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::live::Live;
use crate::presets::Preset;

/// The figure's presets, the question of the one chosen, and its answer.
#[component]
pub fn Lab(
    /// The figure whose presets these are.
    live: Live,
) -> impl IntoView {
    let kind = live.kind;
    let title_id = format!("{}-lab-title", kind.slug());
    let presets = NodeRef::<leptos::html::Div>::new();
    // The button that led here goes away with the preset: focus returns to the presets, not
    // to the top of the page.
    let leave = move |_| {
        live.choose(None);
        let first = presets.get().and_then(|d| d.query_selector("button").ok().flatten());
        if let Some(button) = first.and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = button.focus();
        }
    };
    let buttons = Preset::of(kind)
        .map(|p| {
            view! {
                <button
                    type="button"
                    data-preset=p.slug()
                    aria-pressed=move || (live.preset.get() == Some(p)).to_string()
                    on:click=move |_| live.choose(Some(p))
                >
                    {p.title()}
                </button>
            }
        })
        .collect_view();

    let chosen = move || {
        live.preset.get().map(|p| {
            let answer = move || match live.answer.get() {
                Some(text) => view! {
                    <p class="answer done" data-test="answer">
                        <strong>"Answer: "</strong>
                        {text}
                    </p>
                }
                .into_any(),
                None => view! {
                    <p class="answer pending" data-test="answer-pending">
                        "Press Play or Step to find out: the answer is read from the run once it is over."
                    </p>
                }
                .into_any(),
            };
            view! {
                <div class="question-answer" data-test="preset" data-preset=p.slug()>
                    <p class="question" data-test="question">
                        <strong>{format!("{}: ", p.title())}</strong>
                        {p.question()}
                    </p>
                    {answer}
                    <button type="button" data-test="leave-preset" on:click=leave>
                        "Back to the plain figure"
                    </button>
                </div>
            }
        })
    };

    view! {
        <div class="lab" role="group" aria-labelledby=title_id.clone() data-test="lab">
            <p class="lab-title" id=title_id.clone()>"Try a failure:"</p>
            <div class="presets" node_ref=presets>{buttons}</div>
            {chosen}
        </div>
    }
}
