// groupcast console: the live board, live message pages, the editor's
// preview and draft, confirmations. Plain JS, no dependencies; the pages
// work without it (forms post, links navigate).
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  var page = document.body.dataset.page;

  // Forms that ask first (recall).
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.dataset.confirm)) e.preventDefault();
    });
  });

  function html(text) {
    var t = document.createElement("template");
    t.innerHTML = text.trim();
    return t.content.firstElementChild;
  }

  // live opens the event stream and shows its state; onChange gets each
  // change; a reset (changes were missed) reloads the page. sync runs
  // each time the stream (re)opens: what changed between the page's
  // render and the stream's start is fetched then.
  function live(url, onChange, sync) {
    var dot = document.getElementById("live");
    var es = new EventSource(url);
    function mark(on) {
      if (!dot) return;
      dot.className = "live " + (on ? "on" : "off");
      dot.textContent = on ? dot.dataset.up : dot.dataset.down;
    }
    es.onopen = function () { mark(true); sync(); };
    es.onerror = function () { mark(false); };
    ["record", "target"].forEach(function (kind) {
      es.addEventListener(kind, function (e) { onChange(JSON.parse(e.data)); });
    });
    es.addEventListener("reset", function () { location.reload(); });
    window.addEventListener("pagehide", function () { es.close(); });
    return es;
  }

  // coalesce runs fn(id) once for a burst of changes of the same id.
  function coalesce(fn, ms) {
    var due = {};
    return function (id) {
      if (due[id]) return;
      due[id] = setTimeout(function () { delete due[id]; fn(id); }, ms);
    };
  }

  // gcPatches: the last rows patched by a live change, {id, at} (the
  // browser test reads it to time the board).
  window.gcPatches = [];
  function patched(p) {
    window.gcPatches.push(p);
    if (window.gcPatches.length > 100) window.gcPatches.shift();
  }

  if (page === "board") {
    var rows = document.getElementById("rows");
    var refresh = coalesce(function (id) {
      var q = new URLSearchParams(location.search);
      q.set("row", id);
      fetch("/?" + q.toString(), { credentials: "same-origin" }).then(function (r) {
        if (r.status === 204 || r.status === 404) return null;
        if (!r.ok) throw new Error(r.status);
        return r.text();
      }).then(function (text) {
        var old = document.getElementById("row-" + id);
        if (text === null) { if (old) old.remove(); return; }
        var tr = html("<table><tbody>" + text + "</tbody></table>").querySelector("tr");
        if (old) old.replaceWith(tr); else rows.prepend(tr);
        var empty = document.getElementById("empty");
        if (empty) empty.remove();
        tr.classList.add("flash");
        patched({ id: id, at: Date.now() });
      }).catch(function () {});
    }, 20);
    live("/events", function (c) { refresh(c.id); }, function () {
      fetch(location.pathname + location.search, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var fresh = doc.getElementById("rows");
          if (fresh) rows.innerHTML = fresh.innerHTML;
        }).catch(function () {});
    });
  }

  if (page === "message") {
    var id = document.getElementById("msg-id").textContent;
    var log = document.getElementById("live-log");
    var reload = coalesce(function () {
      fetch("/messages/" + encodeURIComponent(id) + "?fragment=targets", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (text) {
          document.getElementById("targets").replaceWith(html(text));
          patched({ id: id, at: Date.now() });
        }).catch(function () {});
      // The report's delivered figures follow the targets' states.
      fetch("/messages/" + encodeURIComponent(id) + "?fragment=report", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (text) { document.getElementById("report").replaceWith(html(text)); })
        .catch(function () {});
    }, 20);
    live("/events?id=" + encodeURIComponent(id), function (c) {
      if (c.target) {
        var t = c.target, li = document.createElement("li");
        li.textContent = new Date().toLocaleTimeString() + "  " + t.account + "/" + t.group + "  " + t.state +
          (t.recall ? " · recall " + t.recall.state : "") + (t.reason ? "  — " + t.reason : "") +
          (t.not_before ? "  (not before " + t.not_before + ")" : "");
        log.appendChild(li);
      }
      reload(id);
    }, function () { reload(id); });
    if (sessionStorage.getItem("gc-sent")) {
      sessionStorage.removeItem("gc-sent");
      localStorage.removeItem("gc-draft");
    }
  }

  if (page === "compose") {
    var form = document.getElementById("compose");
    var out = document.getElementById("preview");
    var note = document.getElementById("draft");
    var send = document.getElementById("send");
    var sendAt = document.getElementById("f-send-at");
    var KEY = "gc-draft";
    var fields = form.querySelectorAll("input:not([type=hidden]), select, textarea");

    function save() {
      var d = {};
      fields.forEach(function (el) { d[el.name] = el.type === "checkbox" ? el.checked : el.value; });
      localStorage.setItem(KEY, JSON.stringify(d));
      note.textContent = document.getElementById("clear-draft").dataset.saved;
    }
    function restore() {
      var d;
      try { d = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { d = null; }
      if (!d) return;
      fields.forEach(function (el) {
        if (!(el.name in d)) return;
        if (el.type === "checkbox") el.checked = !!d[el.name]; else el.value = d[el.name];
      });
    }
    function label() { send.textContent = sendAt.value ? send.dataset.schedule : send.dataset.send; }

    var seq = 0;
    function preview() {
      var body = new URLSearchParams(new FormData(form));
      if (!body.get("title") && !body.get("body")) return;
      var mine = ++seq;
      fetch("/compose/preview", {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": csrf, "Accept": "text/html" }
      }).then(function (r) {
        return r.text().then(function (t) { return { ok: r.ok, text: t }; });
      }).then(function (r) {
        if (mine !== seq) return; // a newer one is on its way
        if (r.ok) { out.innerHTML = r.text; } else {
          out.textContent = "";
          var p = document.createElement("p");
          p.className = "error"; p.textContent = r.text;
          out.appendChild(p);
        }
      }).catch(function () {});
    }
    var timer;
    form.addEventListener("input", function () {
      save(); label();
      clearTimeout(timer);
      timer = setTimeout(preview, 300);
    });
    form.addEventListener("submit", function () { sessionStorage.setItem("gc-sent", "1"); });
    document.getElementById("clear-draft").addEventListener("click", function () {
      localStorage.removeItem(KEY); form.reset(); note.textContent = ""; label();
      out.textContent = "";
    });
    restore(); label(); preview();
  }
})();
