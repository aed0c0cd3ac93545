// Keyboard shortcuts for the review page: n/f/r/s label the highlighted candidate, j/k move.
(function () {
  var keys = {n: "negative", f: "false_negative", r: "relevant", s: "skip"};
  function items() { return Array.prototype.slice.call(document.querySelectorAll("article.item")); }
  function current() { return document.querySelector("article.item.current") || items()[0]; }
  function select(el, how) {
    if (!el) return;
    items().forEach(function (x) { x.classList.remove("current"); });
    el.classList.add("current");
    el.scrollIntoView({block: how || "nearest"});
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") return;
    var cur = current(), all = items(), at = all.indexOf(cur);
    if (keys[e.key] && cur) {
      e.preventDefault();
      cur.querySelector('button[value="' + keys[e.key] + '"]').click();
    } else if (e.key === "j" || e.key === "ArrowDown") {
      e.preventDefault(); select(all[at + 1]);
    } else if (e.key === "k" || e.key === "ArrowUp") {
      e.preventDefault(); select(all[at - 1]);
    }
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("article.item");
    if (a && !e.target.closest("button")) select(a);
  });
  if (document.querySelector("article.item.current")) select(current(), "start");
})();
