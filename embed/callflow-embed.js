// callflow on any page: load this script once, and every element with a data-callflow
// attribute becomes a live figure. The module and the wasm come from the folder this script is
// in, once per page however many figures it has, and only if the page has a figure. Elements
// added later can be mounted with window.callflow.mount(element).
(function () {
  "use strict";
  // A second copy of the script changes nothing. (An element with id="callflow" also shows
  // up as window.callflow, so look for the loader's own mount.)
  if (window.callflow && typeof window.callflow.mount === "function") return;

  var script = document.currentScript;
  var base = new URL(".", script && script.src ? script.src : location.href);
  var mounted = new WeakSet();
  var loading = null;

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
        mod.mount(el, el.hasAttribute("data-callflow-url"), base.href);
      },
      function (err) {
        fail(el, err);
      },
    );
  }

  function mountAll() {
    var all = Array.prototype.map.call(document.querySelectorAll("[data-callflow]"), mount);
    Promise.all(all).then(function () {
      window.dispatchEvent(new Event("callflow-ready"));
    });
  }

  window.callflow = { mount: mount, base: base.href };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll, { once: true });
  } else {
    mountAll();
  }
})();
