// clusteratlas dashboard: chart export (SVG download, PNG via canvas) and shareable links.
// Plain JavaScript, no libraries, works offline.
(function () {
  "use strict";

  function download(blob, filename) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  var NS = "http://www.w3.org/2000/svg";

  // words of ``text`` on lines of at most ``chars`` characters
  function wrap(text, chars) {
    var lines = [], line = "";
    text.split(/\s+/).forEach(function (word) {
      if (line && (line + " " + word).length > chars) { lines.push(line); line = word; }
      else line = line ? line + " " + word : word;
    });
    if (line) lines.push(line);
    return lines;
  }

  // the chart as a file: framed with its title, the page's context (region, year...) and a
  // source line, so an exported SVG/PNG says what it shows and where the data came from
  function exportOf(section) {
    var svg = section.querySelector(".figure svg");
    if (!svg) return null;
    var view = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal : null;
    var rect = svg.getBoundingClientRect();
    var width = view ? view.width : rect.width, height = view ? view.height : rect.height;
    var chars = Math.max(40, Math.floor(width / 7.5));
    var head = [], y = 8;
    wrap(section.dataset.exportTitle || "", Math.floor(chars * 0.8)).forEach(function (t) { y += 20; head.push([t, y, 16, "bold"]); });
    wrap(section.dataset.exportContext || "", chars).forEach(function (t) { y += 16; head.push([t, y, 12, "normal"]); });
    var top = y + 10;
    var foot = wrap(section.dataset.exportSource || "", Math.floor(chars * 1.15));
    var total = top + height + 8 + 14 * foot.length + 6;
    var frame = document.createElementNS(NS, "svg");
    frame.setAttribute("xmlns", NS);
    frame.setAttribute("viewBox", "0 0 " + width + " " + total);
    frame.setAttribute("width", width);
    frame.setAttribute("height", total);
    var style = document.createElementNS(NS, "style");
    style.textContent = ".lbl,.val,.tick{font-size:11px;font-family:sans-serif;fill:#333}.axis{font-size:12px;font-family:sans-serif;font-weight:bold}";
    frame.appendChild(style);
    var background = document.createElementNS(NS, "rect");
    background.setAttribute("width", width);
    background.setAttribute("height", total);
    background.setAttribute("fill", "white");
    frame.appendChild(background);
    function line(text, x, y, size, weight, cls) {
      var t = document.createElementNS(NS, "text");
      t.setAttribute("x", x); t.setAttribute("y", y);
      t.setAttribute("font-family", "sans-serif"); t.setAttribute("font-size", size);
      t.setAttribute("font-weight", weight); t.setAttribute("fill", cls === "export-source" ? "#555" : "#222");
      t.setAttribute("class", cls);
      t.textContent = text;
      frame.appendChild(t);
    }
    head.forEach(function (h, k) { line(h[0], 8, h[1], h[2], h[3], k === 0 || h[3] === "bold" ? "export-title" : "export-context"); });
    var copy = svg.cloneNode(true);
    copy.setAttribute("x", 0);
    copy.setAttribute("y", top);
    copy.setAttribute("width", width);
    copy.setAttribute("height", height);
    if (!view) copy.setAttribute("viewBox", "0 0 " + width + " " + height);
    frame.appendChild(copy);
    foot.forEach(function (t, k) { line(t, 8, top + height + 18 + 14 * k, 10, "normal", "export-source"); });
    return { text: new XMLSerializer().serializeToString(frame), width: width, height: total };
  }

  function baseName(section) {
    var page = document.body.querySelector("form.controls");
    var path = window.location.pathname.replace(/\//g, "") || "home";
    return "clusteratlas-" + path + "-" + section.dataset.section;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.export-svg, button.export-png");
    if (!button) return;
    var section = button.closest("section");
    var framed = exportOf(section);
    if (!framed) return;
    var text = framed.text;
    if (button.classList.contains("export-svg")) {
      download(new Blob([text], { type: "image/svg+xml" }), baseName(section) + ".svg");
      return;
    }
    var scale = 2;
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = framed.width * scale;
      canvas.height = framed.height * scale;
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "white";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { download(blob, baseName(section) + ".png"); }, "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  });

  // the permalink is the current URL: every control is in the query string
  document.querySelectorAll("a.permalink").forEach(function (a) { a.href = window.location.href; });

  // type-ahead: regions and clusters by name; the URL gets the id
  var ids = {};  // label shown -> id
  function idOf(input) {
    var value = input.value.trim();
    if (ids[value]) return ids[value];
    var m = value.match(/\((?:[a-z_]+ )?([A-Za-z0-9_.\-]+)\)\s*$/);  // "Alabama (state 01)"
    return m ? m[1] : value;
  }
  function regionType(input) {
    var form = input.form, select = form && form.querySelector("select[name=type]");
    return select ? select.value : (input.dataset.regionType || "");
  }
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null, asked = null;
    function ask() {
      var text = input.value.trim();
      if (text === asked) return;
      asked = text;
      var url = "/api/suggest?kind=" + encodeURIComponent(input.dataset.suggest) +
        "&q=" + encodeURIComponent(text) +
        (input.dataset.suggest === "region" ? "&type=" + encodeURIComponent(regionType(input)) : "");
      fetch(url).then(function (r) { return r.ok ? r.json() : []; }).then(function (items) {
        list.innerHTML = "";
        items.forEach(function (item) {
          ids[item.label] = item.id;
          var option = document.createElement("option");
          option.value = item.label;
          list.appendChild(option);
        });
        input.dataset.suggestions = String(items.length);
      }).catch(function () {});
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 120); });
    input.addEventListener("focus", ask);
  });

  // ids into the query string (type:id for compare), empty fields dropped: short shared URLs
  document.querySelectorAll("form.controls").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[data-suggest]").forEach(function (input) {
        if (input.value.trim() === "") return;
        var id = idOf(input);
        input.value = form.action.match(/\/compare$/) ? regionType(input) + ":" + id : id;
      });
      form.querySelectorAll("input, select").forEach(function (el) { if (el.value === "") el.disabled = true; });
    });
  });

  // a select that follows another field offers only the options valid for that field's
  // value (the map's metrics: region totals while no cluster is chosen, one cluster's after)
  document.querySelectorAll("select[data-follows]").forEach(function (select) {
    var leader = select.form && select.form.querySelector("[name=" + select.dataset.follows + "]");
    if (!leader) return;
    function sync() {
      var state = leader.value === "" ? "empty" : "set";
      var options = Array.prototype.slice.call(select.options);
      options.forEach(function (option) {
        var offered = !option.dataset.when || option.dataset.when === state;
        option.hidden = !offered;
        option.disabled = !offered;
      });
      var current = select.options[select.selectedIndex];
      if (!current || current.disabled) {  // keep the same value if offered, else the first
        var offered = options.filter(function (o) { return !o.disabled; });
        var same = current && offered.filter(function (o) { return o.value === current.value; })[0];
        var pick = same || offered[0];
        if (pick) pick.selected = true;
      }
    }
    leader.addEventListener("change", sync);
    sync();
  });

  // mark the current page in the navigation
  var here = window.location.pathname.replace(/^\//, "") || "home";
  document.querySelectorAll("header nav a").forEach(function (a) {
    if (a.dataset.page === here) a.style.textDecoration = "underline";
  });
})();
