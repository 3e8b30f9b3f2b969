// Behaviour every page shares. Page-specific scripts live beside this file, one per area.

// A form's token is remembered with the history entry it was sent from: Back to that entry, even to a
// page drawn anew with a new token, sends the same token again, so the server answers what it made
// instead of making (and charging) it twice.
function formKey(form) {
  return form.getAttribute("action") || window.location.pathname;
}
function rememberSentToken(form, value) {
  const state = window.history.state || {};
  const sent = Object.assign({}, state.sentFormTokens, { [formKey(form)]: value });
  window.history.replaceState(Object.assign({}, state, { sentFormTokens: sent }), "");
}
(function restoreSentTokens() {
  const sent = window.history.state && window.history.state.sentFormTokens;
  if (!sent) return;
  document.querySelectorAll("form").forEach((form) => {
    const token = form.querySelector('input[name="form_token"]');
    if (token && sent[formKey(form)]) token.value = sent[formKey(form)];
  });
})();
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
  const token = form.querySelector('input[name="form_token"]');
  if (!token) return;
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "true";
  rememberSentToken(form, token.value);
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
