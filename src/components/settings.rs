//! A figure's settings: each link's latency and each service's processing time, as a slider on
//! a log scale and a number field, with a line that says what a change does.

use leptos::prelude::*;
use web_sys::HtmlInputElement;

use crate::live::Live;
use crate::playback::{Setting, Target, MAX_SETTING_MS};

/// The slider's range, in log10 of milliseconds: 1 ms to 10 s. The number field goes further.
const SLIDER_MIN: f64 = 0.0;
const SLIDER_MAX: f64 = 4.0;

fn slider_value(ms: f64) -> String {
    ms.max(1.0).log10().clamp(SLIDER_MIN, SLIDER_MAX).to_string()
}

/// Reads a number field as a person typed it: "250", " 1.5 ", "1e3".
pub fn parse_ms(raw: &str) -> Result<f64, String> {
    let t = raw.trim().trim_end_matches("ms").trim();
    if t.is_empty() {
        return Err("Enter a number of milliseconds; the setting is unchanged.".into());
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
        format!("“{}” is not a number of milliseconds; the setting is unchanged.", clip(t))
    })
}

/// At most 24 characters of what the reader typed, for quoting it back.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if s.chars().count() > 24 {
        out.push('…');
    }
    out
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
                // Whole milliseconds read better than 316.2277...
                live.change(target, 10f64.powf(exp).round());
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
                    aria-label=format!("{} (slider, 1 ms to 10 s)", s.label)
                    min=SLIDER_MIN
                    max=SLIDER_MAX
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
    fn typed_times_are_read_or_refused() {
        assert_eq!(parse_ms(" 250 "), Ok(250.0));
        assert_eq!(parse_ms("1.5ms"), Ok(1.5));
        assert_eq!(parse_ms("1e3"), Ok(1000.0));
        assert!(parse_ms("").is_err());
        assert!(parse_ms("NaN").is_err());
        assert!(parse_ms("inf").is_err());
        let err = parse_ms("<script>alert(1)</script> and a very long tail").unwrap_err();
        assert!(err.contains('…') && err.len() < 120, "{err}");
    }

    #[test]
    fn the_slider_stays_in_range() {
        assert_eq!(slider_value(0.0), "0");
        assert_eq!(slider_value(100.0), "2");
        assert_eq!(slider_value(60_000.0), "4");
    }
}
