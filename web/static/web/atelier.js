// Behaviour every page shares. Page-specific scripts live beside this file, one per area.
document.addEventListener("submit", (event) => {
  // <form data-confirm="Revoke this key?">: ask before a step that cannot be undone.
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
