// Behaviour every page shares. Page-specific scripts live beside this file, one per area.
document.addEventListener("submit", (event) => {
  // <form data-confirm="Revoke this key?">: ask before a step that cannot be undone.
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  // No inline handlers (the production Content-Security-Policy allows only our own scripts):
  // <select data-navigate> goes to the chosen option's URL; <select data-autosubmit> sends its form.
  const field = event.target;
  if (field.matches("select[data-navigate]")) window.location = field.value;
  else if (field.matches("[data-autosubmit]")) field.form.submit();
});
