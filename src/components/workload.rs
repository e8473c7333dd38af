//! How service A's jobs come: when the reader presses its button, at a steady rate, or at
//! random (a Poisson process). Part of the run's start: a change starts the run again.

use callflow_sim::scenario::Gap;
use callflow_sim::SimDuration;
use leptos::prelude::*;

use crate::live::Live;
use crate::options::{parse_ms, MAX_GAP_MS, MIN_GAP_MS};

/// The gap the fields offer until the reader types another.
const DEFAULT_GAP_MS: f64 = 500.0;

/// The choice of A's arrivals for one figure.
#[component]
pub fn Workload(
    /// The figure whose service A this feeds.
    live: Live,
) -> impl IntoView {
    let slug = live.kind.slug();
    let kind_id = format!("{slug}-load-kind");
    let ms_id = format!("{slug}-load-ms");
    let error = RwSignal::new(None::<String>);
    let kind = move || match live.workload.get() {
        Gap::Manual => "manual",
        Gap::Fixed(_) => "every",
        Gap::Exponential(_) => "poisson",
    };
    // The gap the field shows: the run's, or what the reader typed for a rate still to choose.
    let typed = RwSignal::new(DEFAULT_GAP_MS);
    Effect::new(move |_| {
        if let Gap::Fixed(d) | Gap::Exponential(d) = live.workload.get() {
            typed.set(d.as_millis_f64());
        }
    });

    let apply = move |which: &str, ms: f64| {
        let gap =
            SimDuration::from_millis_f64(ms).filter(|_| (MIN_GAP_MS..=MAX_GAP_MS).contains(&ms));
        let Some(d) = gap else {
            error.set(Some(format!(
                "Enter a gap from {MIN_GAP_MS} to {MAX_GAP_MS} milliseconds; the workload is unchanged."
            )));
            return;
        };
        error.set(None);
        typed.set(ms);
        live.set_workload(match which {
            "every" => Gap::Fixed(d),
            "poisson" => Gap::Exponential(d),
            _ => Gap::Manual,
        });
    };
    let on_kind =
        move |ev: leptos::ev::Event| apply(&event_target_value(&ev), typed.get_untracked());
    let on_ms = move |ev: leptos::ev::Event| {
        let field = event_target::<web_sys::HtmlInputElement>(&ev);
        match parse_ms(&field.value()) {
            Ok(ms) if kind() == "manual" => {
                if (MIN_GAP_MS..=MAX_GAP_MS).contains(&ms) {
                    error.set(None);
                    typed.set(ms);
                } else {
                    apply("manual", f64::NAN);
                }
            }
            Ok(ms) => apply(kind(), ms),
            Err(text) => error.set(Some(text.replace("the setting", "the workload"))),
        }
        // The field shows the gap in force, refused or not.
        field.set_value(&typed.get_untracked().to_string());
    };

    view! {
        <fieldset class="workload" data-test="workload">
            <legend>"A's jobs"</legend>
            <div class="workload-row">
                <label for=kind_id.clone()>"They come"</label>
                <select id=kind_id data-test="load-kind" on:change=on_kind prop:value=kind>
                    <option value="manual" prop:selected=move || kind() == "manual">
                        {format!("when you press “{}”", live.kind.action())}
                    </option>
                    <option value="every" prop:selected=move || kind() == "every">"at a steady rate"</option>
                    <option value="poisson" prop:selected=move || kind() == "poisson">"at random (Poisson)"</option>
                </select>
                <label for=ms_id.clone()>
                    {move || if kind() == "poisson" { "one every, on average" } else { "one every" }}
                </label>
                <span class="ms">
                    <input id=ms_id type="number" min=MIN_GAP_MS max=MAX_GAP_MS step="any" data-test="load-ms"
                        prop:value=move || typed.get().to_string() on:change=on_ms />
                    " ms"
                </span>
            </div>
            <p class="hint">"A change starts the run again from 0 ms, with the settings it has now."</p>
            {move || error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        </fieldset>
    }
}
