//! A figure's settings: each link's latency and each service's processing time, as a slider on
//! a log scale and a number field, with a line that says what a change does.

use leptos::prelude::*;
use web_sys::HtmlInputElement;

use crate::live::Live;
use crate::options::parse_ms;
use crate::playback::{Setting, Target, MAX_SETTING_MS};

/// The slider's range, in log10 of milliseconds: 1 ms to the largest setting. Zero is for the
/// number field.
const SLIDER_MIN: f64 = 0.0;

/// A whole number of slider steps at or just above the largest setting, so that the slider's
/// end is reachable; what it gives past the largest setting is clamped.
fn slider_max() -> f64 {
    (MAX_SETTING_MS.log10() * 100.0).ceil() / 100.0
}

fn slider_value(ms: f64) -> String {
    ms.max(1.0).log10().clamp(SLIDER_MIN, slider_max()).to_string()
}

/// `x` to three significant digits, so that a slider step always changes the value.
pub fn three_digits(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(3 - x.log10().ceil() as i32);
    (x * scale).round() / scale
}

/// The latency and processing-time settings of one figure.
#[component]
pub fn Settings(
    /// The figure these settings change.
    live: Live,
) -> impl IntoView {
    let slug = live.kind.slug();

    let row = move |i: usize, s: Setting| {
        let id = format!("{slug}-setting-{i}");
        let target = s.target;
        let current = move || {
            live.settings.with(|all| all.iter().find(|x| x.target == target).map_or(0.0, |x| x.ms))
        };
        let on_slide = move |ev: leptos::ev::Event| {
            if let Ok(exp) = event_target_value(&ev).parse::<f64>() {
                // 316 reads better than 316.2277...
                live.change(target, three_digits(10f64.powf(exp)).min(MAX_SETTING_MS));
            }
        };
        let on_type = move |ev: leptos::ev::Event| {
            match parse_ms(&event_target_value(&ev)) {
                Ok(ms) => live.change(target, ms),
                Err(text) => live.notice.set(Some(crate::live::Notice { text, error: true })),
            }
            // The field always shows the setting in force, refused or not.
            event_target::<HtmlInputElement>(&ev).set_value(&current().to_string());
        };
        let kind = match target {
            Target::Link(_) => "link",
            Target::Processing(_) => "processing",
        };
        view! {
            <div class="setting" data-test=format!("setting-{kind}")>
                <label for=format!("{id}-ms")>{s.label.clone()}</label>
                <input
                    type="range"
                    aria-label=format!("{} (slider, 1 ms to 60 s)", s.label)
                    min=SLIDER_MIN
                    max=slider_max()
                    step="0.01"
                    prop:value=move || slider_value(current())
                    aria-valuetext=move || format!("{} ms", current())
                    on:change=on_slide
                />
                <span class="ms">
                    <input
                        id=format!("{id}-ms")
                        type="text"
                        inputmode="decimal"
                        size="7"
                        prop:value=move || current().to_string()
                        on:change=on_type
                    />
                    " ms"
                </span>
            </div>
        }
    };

    let rows = live
        .settings
        .get_untracked()
        .into_iter()
        .enumerate()
        .map(|(i, s)| row(i, s))
        .collect_view();

    view! {
        <fieldset class="settings">
            <legend>"Settings"</legend>
            <p class="hint">
                {format!("From 0 to {MAX_SETTING_MS} ms. A change applies to what starts after it; what is already under way keeps its timing.")}
            </p>
            {rows}
            <p class="notice" class:error=move || live.notice.with(|n| n.as_ref().is_some_and(|n| n.error))
                aria-live="polite" data-test="notice">
                {move || live.notice.with(|n| n.as_ref().map(|n| n.text.clone()))}
            </p>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slider_step_always_moves() {
        assert_eq!(three_digits(20.46), 20.5);
        assert_eq!(three_digits(1.023), 1.02);
        assert_eq!(three_digits(9772.4), 9770.0);
        assert_eq!(three_digits(0.0), 0.0);
        let mut ms: f64 = 1.0;
        for _ in 0..400 {
            let next = three_digits(10f64.powf(ms.log10() + 0.01));
            assert!(next > ms, "stuck at {ms}");
            ms = next;
        }
    }

    #[test]
    fn the_slider_stays_in_range() {
        assert_eq!(slider_value(0.0), "0");
        assert_eq!(slider_value(100.0), "2");
        assert_eq!(slider_value(60_000.0), MAX_SETTING_MS.log10().to_string());
        assert_eq!(slider_max(), 4.78);
        assert!(10f64.powf(slider_max()) >= MAX_SETTING_MS);
    }
}
