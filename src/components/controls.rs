//! A figure's controls: the reader's action, play/pause, step, reset, and the speed on a log
//! scale.

use leptos::prelude::*;

use crate::live::Live;
use crate::options::Shown;
use crate::playback::{MAX_SPEED, MIN_SPEED};

/// Formats a speed for people: ×0.25, ×0.001, ×4.
pub fn speed_text(speed: f64) -> String {
    let digits = if speed >= 1.0 { 1 } else { (-speed.log10()).ceil() as usize + 1 };
    let s = format!("{speed:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("×{s}")
}

/// What one second of the page's time covers at this speed, in words.
fn speed_hint(speed: f64) -> String {
    let sim_ms = 1000.0 * speed;
    if sim_ms < 1.0 {
        format!("1 s on screen shows {:.0} µs of the run", sim_ms * 1000.0)
    } else if sim_ms < 1000.0 {
        format!("1 s on screen shows {sim_ms:.0} ms of the run")
    } else {
        format!("1 s on screen shows {:.1} s of the run", sim_ms / 1000.0)
    }
}

/// The buttons and the speed slider of one figure.
#[component]
pub fn Controls(
    /// The figure these controls drive.
    live: Live,
    /// Which of them to show.
    shown: Shown,
) -> impl IntoView {
    let slug = live.kind.slug();
    let speed_id = format!("{slug}-speed");
    let speed_error = RwSignal::new(None::<String>);

    let on_speed = move |ev: leptos::ev::Event| {
        let raw = event_target_value(&ev);
        // The slider's ends are the allowed ends; rounding in powf must not step past them.
        let speed = raw
            .parse::<f64>()
            .map(|exp| 10f64.powf(exp).clamp(MIN_SPEED, MAX_SPEED))
            .unwrap_or(f64::NAN);
        speed_error.set(live.set_speed(speed).err());
    };

    view! {
        <div class="controls" role="group" aria-label=format!("Figure {} controls", live.kind.number())>
            <button type="button" class="action" data-test="act" hidden=!shown.act on:click=move |_| live.act()>
                {live.kind.action()}
            </button>
            <button
                type="button"
                data-test="play"
                hidden=!shown.play
                data-playing=move || live.playing.get().to_string()
                on:click=move |_| live.toggle()
            >
                {move || if live.playing.get() { "Pause" } else { "Play" }}
            </button>
            <button type="button" data-test="step" hidden=!shown.step on:click=move |_| live.step()
                title="Run exactly one simulator event">
                "Step"
            </button>
            <button type="button" data-test="reset" hidden=!shown.reset on:click=move |_| live.reset()>
                "Reset"
            </button>
            <span class="speed" hidden=!shown.speed>
                <label for=speed_id.clone()>"Speed"</label>
                <input
                    id=speed_id
                    type="range"
                    data-test="speed"
                    min=MIN_SPEED.log10()
                    max=MAX_SPEED.log10()
                    step="0.05"
                    prop:value=move || live.speed.get().log10().to_string()
                    aria-valuetext=move || format!("{}, {}", speed_text(live.speed.get()), speed_hint(live.speed.get()))
                    on:input=on_speed
                />
                <output data-test="speed-value" aria-live="off">{move || speed_text(live.speed.get())}</output>
            </span>
            <span class="speed-hint" hidden=!shown.speed>{move || speed_hint(live.speed.get())}</span>
            {move || speed_error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_read_well() {
        assert_eq!(speed_text(0.25), "×0.25");
        assert_eq!(speed_text(1.0), "×1");
        assert_eq!(speed_text(10.0), "×10");
        assert_eq!(speed_text(0.001), "×0.001");
        assert_eq!(speed_text(0.0316), "×0.032");
        assert_eq!(speed_hint(0.25), "1 s on screen shows 250 ms of the run");
        assert_eq!(speed_hint(0.001), "1 s on screen shows 1 ms of the run");
        assert_eq!(speed_hint(4.0), "1 s on screen shows 4.0 s of the run");
    }
}
