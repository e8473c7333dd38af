//! Tells a component whether its element is on screen, through the browser's
//! IntersectionObserver, so that figures out of view stop their frame loops.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, IntersectionObserver, IntersectionObserverEntry};

/// Calls `on_change(true)` when any of `element` comes on screen and `on_change(false)` when
/// it leaves (the browser reports the first state soon after the call); stops when the calling
/// component is disposed. Without an IntersectionObserver the element counts as on screen.
pub fn watch(element: &Element, on_change: impl Fn(bool) + 'static) {
    let on_change = Rc::new(on_change);
    let report = Rc::clone(&on_change);
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        // The newest entry tells the current state.
        if let Some(entry) = entries.iter().last() {
            report(entry.unchecked_into::<IntersectionObserverEntry>().is_intersecting());
        }
    });
    let Ok(observer) = IntersectionObserver::new(callback.as_ref().unchecked_ref()) else {
        on_change(true);
        return;
    };
    observer.observe(element);

    let kept = StoredValue::new_local((observer, callback));
    on_cleanup(move || kept.with_value(|(observer, _)| observer.disconnect()));
}
