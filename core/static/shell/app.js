// When a fragment cannot be fetched at all (the server is down, the network dropped), htmx has
// no answer to swap: say so in place rather than leave "Loading…" forever.
document.addEventListener("htmx:sendError", (event) => {
  const target = event.detail.target;
  if (!target) return;
  const note = document.createElement("p");
  note.className = "error";
  note.setAttribute("role", "alert");
  note.textContent = "Could not reach SecondLoop. Reload the page to try again.";
  target.replaceChildren(note);
});
