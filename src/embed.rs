//! Figures on other pages: one figure mounted in a host element, inside a shadow root that
//! holds its styles, so that the host's page and the figure leave each other alone. The
//! options come from the element's `data-` attributes, or from the address of the iframe page
//! `embed.html`, which may also report its height to the page that frames it.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, ResizeObserver, ResizeObserverEntry, ShadowRootInit, ShadowRootMode};

use crate::catalog::FigureKind;
use crate::components::{Announcer, Figure, Problems};
use crate::export::split_query;
use crate::live::{Home, Voice};
use crate::options;

/// A figure narrower than this, in CSS pixels, stacks its boxes vertically.
const TALL_BELOW_PX: f64 = 560.0;

/// The styles of a figure's controls; with the diagram's, all that its shadow root needs.
const FIGURE_STYLE: &str = include_str!("../style/figure.css");

/// Every rule a mounted figure needs: colours, the diagram, the controls.
fn figure_css() -> String {
    format!("{}{FIGURE_STYLE}", crate::components::SVG_STYLE)
}

/// The `data-` attributes an element may hold for its figure, besides settings (`work-…`,
/// `link-…`). Others belong to the host page (frameworks add their own) and are left alone.
const ELEMENT_OPTIONS: [&str; 10] = [
    "seed",
    "speed",
    "autoplay",
    "caption",
    "controls",
    "t",
    "in",
    "preset",
    "load",
    "partitioner",
];

/// The options an element gives: `data-callflow` names the figure, and `data-x` is option `x`.
fn element_options(host: &HtmlElement) -> Vec<(String, String)> {
    let names = host.get_attribute_names();
    names
        .iter()
        .filter_map(|n| n.as_string())
        .filter_map(|name| {
            let key = name.strip_prefix("data-")?;
            let ours = ELEMENT_OPTIONS.contains(&key)
                || key.starts_with("work-")
                || key.starts_with("link-");
            let value = host.get_attribute(&name).unwrap_or_default();
            match key {
                "callflow" => Some(("figure".to_string(), value)),
                k if ours => Some((k.to_string(), value)),
                _ => None,
            }
        })
        .collect()
}

/// The figure's styles as one sheet that every shadow root on the page adopts: parsed once,
/// and, unlike a style element, allowed by a Content-Security-Policy without 'unsafe-inline'.
fn shared_sheet() -> Option<web_sys::CssStyleSheet> {
    thread_local! {
        static SHEET: Option<web_sys::CssStyleSheet> = {
            let sheet = web_sys::CssStyleSheet::new().ok();
            sheet.filter(|s| s.replace_sync(&figure_css()).is_ok())
        };
    }
    SHEET.with(Clone::clone)
}

/// Makes `host` a live figure, once; with `from_url`, its options come from the page's address.
/// `home` is the folder callflow is served from: a shared link opens the full page there.
pub fn mount(host: HtmlElement, from_url: bool, home: String) {
    if host.get_attribute("data-callflow-mounted").is_some() {
        return;
    }
    let _ = host.set_attribute("data-callflow-mounted", "");
    // Some elements (figure, li, td, ...) take no shadow root, nor does one that has its own:
    // the figure then lives in a div of its own inside the element.
    let init = ShadowRootInit::new(ShadowRootMode::Open);
    // A root of ours from an earlier mount, emptied by unmount, is used again.
    let ours = host.has_attribute("data-callflow-root");
    let root = match host
        .shadow_root()
        .filter(|_| ours)
        .ok_or(())
        .or_else(|_| host.attach_shadow(&init))
    {
        Ok(root) => {
            let _ = host.set_attribute("data-callflow-root", "");
            root
        }
        Err(_) => {
            let Some(inner) = document()
                .create_element("div")
                .ok()
                .and_then(|div| host.append_child(&div).ok())
                .and_then(|div| div.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            let Ok(root) = inner.attach_shadow(&init) else { return };
            root
        }
    };
    let Ok(container) = document().create_element("div") else { return };
    style(&root);
    let _ = root.append_child(&container);

    let pairs = if from_url {
        split_query(&window().location().search().unwrap_or_default())
    } else {
        element_options(&host)
    };
    let (found, mut problems) = options::read(None, &pairs);
    if found.is_none() && problems.is_empty() {
        problems.push(if from_url {
            format!("No figure is named: add figure={} to the address.", FigureKind::SLUGS)
        } else {
            format!("No figure is named: give data-callflow the value {}.", FigureKind::SLUGS)
        });
    }
    let parent = found.as_ref().filter(|_| from_url).and_then(|o| o.parent.clone());
    let watched = host.clone();

    let voice = page_voice();
    let handle = leptos::mount::mount_to(container.clone().unchecked_into(), move || {
        provide_context(voice);
        provide_context(Home(home));
        let tall = RwSignal::new(false);
        follow_width(&watched, tall);
        if let Some(origin) = parent {
            report_height(&watched, origin);
        }
        match found {
            Some(o) => view! { <Figure options=o problems=problems tall=tall /> }.into_any(),
            None => view! {
                <div class="figure">
                    <Problems heading="This callflow figure has nothing to show:" problems=problems />
                </div>
            }
            .into_any(),
        }
    });
    MOUNTED.with_borrow_mut(|m| m.push(Mounted { host, container, _handle: Box::new(handle) }));
}

/// A figure mounted by [`mount`]: dropping the handle unmounts its view and frees its state.
struct Mounted {
    host: HtmlElement,
    container: web_sys::Element,
    _handle: Box<dyn std::any::Any>,
}

thread_local! {
    static MOUNTED: std::cell::RefCell<Vec<Mounted>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the figure out of `host`, if one is mounted there: its view, its run, its frame loop
/// and its observers go; `host` may be mounted again.
pub fn unmount(host: &HtmlElement) {
    let gone = MOUNTED.with_borrow_mut(|m| {
        let at = m.iter().position(|x| x.host == *host)?;
        Some(m.swap_remove(at))
    });
    if let Some(gone) = gone {
        gone.container.remove();
        let _ = gone.host.remove_attribute("data-callflow-mounted");
        // Dropped here, outside the borrow: the view's cleanup may run code of its own.
        drop(gone);
    }
}

/// Gives a shadow root the figure's styles.
fn style(root: &web_sys::ShadowRoot) {
    match shared_sheet() {
        Some(sheet) => root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet)),
        None => {
            // A browser without constructable style sheets gets a style element.
            if let Ok(style) = document().create_element("style") {
                style.set_text_content(Some(&figure_css()));
                let _ = root.append_child(&style);
            }
        }
    }
}

/// The page's one voice for all its mounted figures: a single polite live region, so that a
/// screen reader hears the figure last used and not several at once. Made on first use, in a
/// hidden element of its own at the end of the page, and kept for the page's life.
fn page_voice() -> Voice {
    thread_local!(static VOICE: std::cell::OnceCell<Voice> = const { std::cell::OnceCell::new() });
    VOICE.with(|cell| {
        *cell.get_or_init(|| {
            let owner = Owner::new();
            let voice = owner.with(Voice::new);
            let place = document().create_element("div").ok();
            let body = document().body();
            if let (Some(place), Some(body)) = (place, body) {
                let _ = place.set_attribute("data-callflow-voice", "");
                let _ = body.append_child(&place);
                if let Ok(root) = place.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open)) {
                    style(&root);
                    if let Ok(inner) = document().create_element("div") {
                        let _ = root.append_child(&inner);
                        owner.with(|| {
                            leptos::mount::mount_to(inner.unchecked_into(), move || {
                                view! { <Announcer voice=voice /> }
                            })
                            .forget()
                        });
                    }
                }
            }
            // The voice outlives every figure.
            std::mem::forget(owner);
            voice
        })
    })
}

/// Keeps `tall` true while `el` is narrower than [`TALL_BELOW_PX`].
fn follow_width(el: &HtmlElement, tall: RwSignal<bool>) {
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        if let Some(entry) = entries.iter().last() {
            let width = entry.unchecked_into::<ResizeObserverEntry>().content_rect().width();
            let narrow = width > 0.0 && width < TALL_BELOW_PX;
            if tall.get_untracked() != narrow {
                tall.set(narrow);
            }
        }
    });
    if let Ok(observer) = ResizeObserver::new(callback.as_ref().unchecked_ref()) {
        observer.observe(el);
        // Until the figure is unmounted.
        let kept = StoredValue::new_local((observer, callback));
        on_cleanup(move || kept.with_value(|(observer, _)| observer.disconnect()));
    }
}

/// Tells the framing page, at `origin` only, this page's height whenever it changes.
/// The height is the figure's own, `host`'s: the document's would never be less than the
/// frame's, so a frame could grow but never shrink back.
fn report_height(host: &HtmlElement, origin: String) {
    let Ok(Some(parent)) = window().parent() else { return };
    let last = std::cell::Cell::new(-1.0);
    let measured = host.clone();
    let post = move || {
        let height = f64::from(measured.offset_height());
        if height == last.get() {
            return;
        }
        last.set(height);
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &"callflow:height".into());
        let _ = js_sys::Reflect::set(&message, &"height".into(), &JsValue::from_f64(height));
        // The browser delivers it only if the parent is at `origin`.
        let _ = parent.post_message(&message, &origin);
    };
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_: js_sys::Array| post());
    if let Ok(observer) = ResizeObserver::new(callback.as_ref().unchecked_ref()) {
        observer.observe(host);
        callback.forget();
        std::mem::forget(observer);
    }
}
