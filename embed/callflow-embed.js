// callflow on any page: load this script once, and every element with a data-callflow
// attribute becomes a live figure. The module and the wasm come from the folder this script is
// in, once per page however many figures it has, and only if the page has a figure. Elements
// added later can be mounted with window.callflow.mount(element); a figure whose element
// leaves the page is unmounted, and frees what it held (window.callflow.unmount does it at
// once).
(function () {
  "use strict";
  // A second copy of the script changes nothing. (An element with id="callflow" also shows
  // up as window.callflow, so look for the loader's own mount.)
  if (window.callflow && typeof window.callflow.mount === "function") return;

  var script = document.currentScript;
  var base = new URL(".", script && script.src ? script.src : location.href);
  var mounted = new Set();
  var loading = null;
  var watching = false;

  // The module, loaded and started on first use.
  function load() {
    if (!loading) {
      loading = import(new URL("callflow.js", base).href).then(function (mod) {
        return mod.default({ module_or_path: new URL("callflow_bg.wasm", base) }).then(function () {
          return mod;
        });
      });
    }
    return loading;
  }

  function fail(el, err) {
    var p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = "This callflow figure could not load: " + (err && err.message ? err.message : err);
    el.replaceChildren(p);
    console.error(p.textContent);
  }

  // Makes `el` a live figure, once. Resolves when it is mounted.
  function mount(el) {
    if (!(el instanceof HTMLElement) || mounted.has(el)) return Promise.resolve();
    mounted.add(el);
    return load().then(
      function (mod) {
        if (!mounted.has(el)) return; // unmounted while loading
        mod.mount(el, el.hasAttribute("data-callflow-url"), base.href);
        watch(mod);
      },
      function (err) {
        fail(el, err);
      },
    );
  }

  // Takes the figure out of `el`, if there is one.
  function unmount(el) {
    if (!mounted.delete(el) || !loading) return Promise.resolve();
    return loading.then(function (mod) {
      mod.unmount(el);
    });
  }

  // Figures whose elements leave the page are unmounted: a page that swaps its content (as
  // single-page docs sites do) does not pile up figures nobody sees.
  function watch(mod) {
    if (watching) return;
    watching = true;
    new MutationObserver(function () {
      mounted.forEach(function (el) {
        if (!el.isConnected) {
          mounted.delete(el);
          mod.unmount(el);
        }
      });
    }).observe(document, { childList: true, subtree: true });
  }

  function mountAll() {
    var all = Array.prototype.map.call(document.querySelectorAll("[data-callflow]"), mount);
    Promise.all(all).then(function () {
      window.dispatchEvent(new Event("callflow-ready"));
    });
  }

  window.callflow = { mount: mount, unmount: unmount, base: base.href };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll, { once: true });
  } else {
    mountAll();
  }
})();
