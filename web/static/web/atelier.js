// Behaviour every page shares. Page-specific scripts live beside this file, one per area.
document.addEventListener("submit", (event) => {
  const form = event.target;
  // <form data-confirm="Revoke this key?">: ask before a step that cannot be undone.
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // A form that spends or creates (it carries a form_token) is sent once: a second click does nothing.
  // The server makes one thing per token anyway; this only spares the second request.
  if (!form.querySelector('input[name="form_token"]')) return;
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "true";
  // After this turn: a button disabled now would leave the submission without its name and value.
  window.setTimeout(() => {
    if (event.defaultPrevented) {
      delete form.dataset.sending; // another script held the form back: it was not sent
      return;
    }
    form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]').forEach((button) => {
      button.disabled = true;
      button.dataset.disabledWhileSending = "";
    });
  }, 0);
});

window.addEventListener("pageshow", (event) => {
  // Back to a page kept in memory: its forms may be sent again (the token makes that a repeat, not a second job).
  if (!event.persisted) return;
  document.querySelectorAll("form[data-sending]").forEach((form) => {
    delete form.dataset.sending;
    form.querySelectorAll("[data-disabled-while-sending]").forEach((button) => {
      button.disabled = false;
      delete button.dataset.disabledWhileSending;
    });
  });
});

document.addEventListener("change", (event) => {
  // No inline handlers (the production Content-Security-Policy allows only our own scripts):
  // <select data-navigate> goes to the chosen option's URL; <select data-autosubmit> sends its form.
  const field = event.target;
  if (field.matches("select[data-navigate]")) window.location = field.value;
  else if (field.matches("[data-autosubmit]")) field.form.submit();
});
