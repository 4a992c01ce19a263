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

  function svgOf(section) {
    var svg = section.querySelector(".figure svg");
    if (!svg) return null;
    var copy = svg.cloneNode(true);
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    // inline the text styles so the file looks the same outside the page
    var style = document.createElementNS("http://www.w3.org/2000/svg", "style");
    style.textContent = ".lbl,.val,.tick{font-size:11px;font-family:sans-serif;fill:#333}.axis{font-size:12px;font-family:sans-serif;font-weight:bold}";
    copy.insertBefore(style, copy.firstChild);
    return new XMLSerializer().serializeToString(copy);
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
    var text = svgOf(section);
    if (!text) return;
    if (button.classList.contains("export-svg")) {
      download(new Blob([text], { type: "image/svg+xml" }), baseName(section) + ".svg");
      return;
    }
    var svg = section.querySelector(".figure svg");
    var box = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal : svg.getBoundingClientRect();
    var scale = 2;
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = box.width * scale;
      canvas.height = box.height * scale;
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

  // drop empty fields so shared URLs stay short
  document.querySelectorAll("form.controls").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (el) { if (el.value === "") el.disabled = true; });
    });
  });

  // mark the current page in the navigation
  var here = window.location.pathname.replace(/^\//, "") || "home";
  document.querySelectorAll("header nav a").forEach(function (a) {
    if (a.dataset.page === here) a.style.textDecoration = "underline";
  });
})();
