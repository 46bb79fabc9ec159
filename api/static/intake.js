// One submission per rendered form: a double-click does not post twice (the token makes a
// repeated post harmless anyway).
document.getElementById("intake").addEventListener("submit", function (e) {
  if (this.dataset.sent) { e.preventDefault(); return; }
  this.dataset.sent = "1";
});
